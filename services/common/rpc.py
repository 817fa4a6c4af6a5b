"""Nameko's ``@rpc`` entrypoint, with replies published without publisher confirms.

Why: Nameko's responder waits for the broker to confirm every reply before it
acks the request. That round trip was the largest single cost of a fast RPC in
the auth service (a third of its samples under load, ``bench/auth.py``), and it
buys nothing: if the broker loses a reply, the caller's timeout fires exactly
as it would if the broker had failed the confirm. Requests are still acked
only after their reply is handed to the broker.
"""

from __future__ import annotations

from nameko import rpc as nameko_rpc
from nameko.amqp.publish import Publisher


class _ReplyPublisher(Publisher):
    use_confirms = False


class _Responder(nameko_rpc.Responder):
    publisher_cls = _ReplyPublisher


class _RpcConsumer(nameko_rpc.RpcConsumer):
    def handle_result(self, message, result, exc_info):
        config = self.container.config
        responder = _Responder(
            config[nameko_rpc.AMQP_URI_CONFIG_KEY],
            nameko_rpc.get_rpc_exchange(config),
            config.get(nameko_rpc.SERIALIZER_CONFIG_KEY, nameko_rpc.DEFAULT_SERIALIZER),
            message,
            ssl=config.get(nameko_rpc.AMQP_SSL_CONFIG_KEY),
            login_method=config.get(nameko_rpc.LOGIN_METHOD_CONFIG_KEY),
        )
        result, exc_info = responder.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info


class Rpc(nameko_rpc.Rpc):
    rpc_consumer = _RpcConsumer()


rpc = Rpc.decorator
