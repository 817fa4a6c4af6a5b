"""Nameko's ``@rpc`` entrypoint, with replies published without publisher confirms.

Why: Nameko's responder waits for the broker to confirm every reply before it
acks the request. That round trip was the largest single cost of a fast RPC in
the auth service (a third of its samples under load, ``bench/auth.py``), and it
buys nothing: if the broker loses a reply, the caller's timeout fires exactly
as it would if the broker had failed the confirm. Requests are still acked
only after their reply is handed to the broker.

A reply that cannot be published (the broker went down while the worker ran)
is logged and its request requeued, not acked: Nameko's own responder lets
that error kill the whole service process.

A Redis outage inside any RPC reaches the caller as the typed
``ServiceUnavailable`` naming ``redis``, never as an unexpected error.
"""

from __future__ import annotations

import logging

from nameko import rpc as nameko_rpc
from nameko.amqp.publish import Publisher

from core.redis_client import is_redis_down, redis_unavailable
from schema.errors import AgentHubError, ServiceUnavailable

log = logging.getLogger("agenthub.rpc")


class _ReplyPublisher(Publisher):
    use_confirms = False


class _Responder(nameko_rpc.Responder):
    publisher_cls = _ReplyPublisher


class _RpcConsumer(nameko_rpc.RpcConsumer):
    def handle_result(self, message, result, exc_info):
        if exc_info is not None and is_redis_down(exc_info[1]):
            exc_info = (ServiceUnavailable, redis_unavailable(), exc_info[2])
        config = self.container.config
        responder = _Responder(
            config[nameko_rpc.AMQP_URI_CONFIG_KEY],
            nameko_rpc.get_rpc_exchange(config),
            config.get(nameko_rpc.SERIALIZER_CONFIG_KEY, nameko_rpc.DEFAULT_SERIALIZER),
            message,
            ssl=config.get(nameko_rpc.AMQP_SSL_CONFIG_KEY),
            login_method=config.get(nameko_rpc.LOGIN_METHOD_CONFIG_KEY),
        )
        try:
            result, exc_info = responder.send_response(result, exc_info)
        except Exception as error:  # the broker is unreachable: the request runs again once it is back
            log.warning("could not publish an RPC reply; the request will be redelivered: %s: %s",
                        type(error).__name__, error,
                        extra={"fields": {"routing_key": message.delivery_info.get("routing_key")}})
            self._settle(self.queue_consumer.requeue_message, message)
            return result, exc_info
        self._settle(self.queue_consumer.ack_message, message)
        return result, exc_info

    @staticmethod
    def _settle(settle, message) -> None:
        """Ack or requeue; on a dead connection the broker has already requeued the request."""
        try:
            settle(message)
        except Exception as error:
            log.warning("could not settle an RPC request (the broker requeues it): %s: %s",
                        type(error).__name__, error)


class Rpc(nameko_rpc.Rpc):
    rpc_consumer = _RpcConsumer()


def rpc(fn=None, **kwargs):
    """``@rpc`` or ``@rpc(...)``; AgentHub's coded errors are expected (a client's mistake), so
    Nameko does not log them as failures with a traceback."""
    kwargs.setdefault("expected_exceptions", (AgentHubError,))
    decorator = Rpc.decorator(**kwargs)
    return decorator if fn is None else decorator(fn)
