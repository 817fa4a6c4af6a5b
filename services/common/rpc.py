"""Nameko's ``@rpc`` entrypoint, with replies published without publisher confirms
on one connection per process.

Why: Nameko's responder waits for the broker to confirm every reply before it
acks the request. That round trip was the largest single cost of a fast RPC in
the auth service (a third of its samples under load, ``bench/auth.py``), and it
buys nothing: if the broker loses a reply, the caller's timeout fires exactly
as it would if the broker had failed the confirm. Requests are still acked
only after their reply is handed to the broker.

Why not Nameko's ``Responder`` at all: for every reply it builds a kombu
``Connection``, takes a producer from kombu's pool, serialises the payload twice
(once as a check) and publishes through kombu's retry wrapper: about half of the
service's CPU per call of an echo RPC (``bench/rpc.py``). ``_ReplyChannel``
keeps one connection and channel for all replies of the process, serialises
once and publishes the same message (same exchange, routing key, correlation
id, content type and body) under a green lock: one publish's frames at a time
on the channel. A dead connection is replaced once per reply before giving up.

Replies are transient (``delivery_mode=1``; Nameko's responder sends them
persistent). A reply goes to its caller's reply queue: the gateway's is exclusive
and auto-delete, and Nameko's ``RpcProxy`` uses one per service process that
expires 5 minutes after it is left. Neither outlives its consumer usefully: a
caller whose connection dropped has failed the call already, and a persistent
message into a durable reply queue only costs the broker disk work. A reply
lost in a broker restart ends in the caller's timeout (agent → rag tool calls
have their own), as a lost reply always did.

A reply that cannot be published (the broker went down while the worker ran)
is logged and its request requeued, not acked: Nameko's own responder lets
that error kill the whole service process. The gateway's requests are
transient too (``gateway/rpc.py``), so one that was in progress when the broker
restarted is gone with the restart and does not run again; its caller got
``ServiceUnavailable`` when its connection dropped.

``Rpc.check_signature`` binds the arguments to a signature computed once per
entrypoint (Nameko's calls ``inspect.getcallargs``, which rebuilds the method's
signature on every request: a tenth of the Python calls of an echo RPC); a
mismatch is still reported by Nameko's own check, with its message.

A Redis outage inside any RPC reaches the caller as the typed
``ServiceUnavailable`` naming ``redis``, never as an unexpected error.
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any

import amqp
import kombu
import kombu.serialization
from eventlet.semaphore import Semaphore
from nameko import rpc as nameko_rpc
from nameko.exceptions import UnserializableValueError, serialize

from core.redis_client import is_redis_down, redis_unavailable
from schema.errors import AgentHubError, ServiceUnavailable

log = logging.getLogger("agenthub.rpc")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class _ReplyChannel:
    """One AMQP connection and channel for every reply this process sends (see the module docstring)."""

    def __init__(self, amqp_uri: str, ssl: Any = None, login_method: str | None = None) -> None:
        self.amqp_uri, self.ssl, self.login_method = amqp_uri, ssl, login_method
        self._lock = Semaphore(1)
        self._connection: kombu.Connection | None = None
        self._channel: Any = None  # an amqp channel

    def publish(
        self,
        body: bytes,
        *,
        exchange: str,
        routing_key: str,
        correlation_id: str | None,
        content_type: str,
        content_encoding: str,
    ) -> None:
        message = amqp.Message(
            body,
            content_type=content_type,
            content_encoding=content_encoding,
            correlation_id=correlation_id,
            delivery_mode=1,  # transient: see the module docstring
            priority=0,
            application_headers={},
        )
        with self._lock:
            for attempt in (1, 2):
                try:
                    channel = self._channel if self._channel is not None else self._connect()
                    channel.basic_publish(message, exchange=exchange, routing_key=routing_key)
                    return
                except Exception:  # a dead connection (broker restarted, connection closed): one new one
                    self.close()
                    if attempt == 2:
                        raise

    def _connect(self) -> Any:
        connection = kombu.Connection(self.amqp_uri, ssl=self.ssl, login_method=self.login_method, connect_timeout=5)
        connection.connect()
        self._connection, self._channel = connection, connection.channel()
        return self._channel

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # already broken
                pass


def _reply_body(message: Any, result: Any, exc_info: ExcInfo | None) -> tuple[Any, ExcInfo | None, str, str, bytes]:
    """The reply as Nameko encodes it (the request's serializer), serialised once; an unserialisable
    result becomes Nameko's ``UnserializableValueError``. Returns (result, exc_info, type, encoding, body)."""
    serializer = kombu.serialization.registry.type_to_name[message.properties["content_type"]]
    error = serialize(exc_info[1]) if exc_info is not None else None
    try:
        content_type, encoding, body = kombu.serialization.dumps({"result": result, "error": error}, serializer)
    except Exception:
        exc_info = sys.exc_info()  # type: ignore[assignment]  # inside except: never (None, None, None)
        error = serialize(UnserializableValueError(result))  # guaranteed to serialise
        result = None
        content_type, encoding, body = kombu.serialization.dumps({"result": None, "error": error}, serializer)
    return result, exc_info, content_type, encoding, body


class _RpcConsumer(nameko_rpc.RpcConsumer):
    _replies: _ReplyChannel | None = None

    def setup(self) -> None:
        super().setup()
        config = self.container.config
        self._exchange = nameko_rpc.get_rpc_exchange(config).name
        self._replies = _ReplyChannel(
            config[nameko_rpc.AMQP_URI_CONFIG_KEY],
            ssl=config.get(nameko_rpc.AMQP_SSL_CONFIG_KEY),
            login_method=config.get(nameko_rpc.LOGIN_METHOD_CONFIG_KEY),
        )

    def stop(self) -> None:
        super().stop()
        if self._replies is not None:
            self._replies.close()

    def handle_result(self, message: Any, result: Any, exc_info: ExcInfo | None) -> tuple[Any, ExcInfo | None]:
        if exc_info is not None and is_redis_down(exc_info[1]):
            exc_info = (ServiceUnavailable, redis_unavailable(), exc_info[2])
        try:
            result, exc_info, content_type, encoding, body = _reply_body(message, result, exc_info)
            assert self._replies is not None  # set up in setup()
            self._replies.publish(
                body,
                exchange=self._exchange,
                routing_key=message.properties["reply_to"],
                correlation_id=message.properties.get("correlation_id"),
                content_type=content_type,
                content_encoding=encoding,
            )
        except Exception as error:  # the broker is unreachable: the request runs again once it is back
            log.warning(
                "could not publish an RPC reply; the request will be redelivered: %s: %s",
                type(error).__name__,
                error,
                extra={"fields": {"routing_key": message.delivery_info.get("routing_key")}},
            )
            self._settle(self.queue_consumer.requeue_message, message)
            return result, exc_info
        self._settle(self.queue_consumer.ack_message, message)
        return result, exc_info

    @staticmethod
    def _settle(settle: Callable[[Any], None], message: Any) -> None:
        """Ack or requeue; on a dead connection the broker has already requeued the request."""
        try:
            settle(message)
        except Exception as error:
            log.warning("could not settle an RPC request (the broker requeues it): %s: %s", type(error).__name__, error)


class Rpc(nameko_rpc.Rpc):
    rpc_consumer = _RpcConsumer()
    _signature: inspect.Signature | None = None

    def check_signature(self, args: Any, kwargs: Any) -> None:
        """As Nameko's (the unbound method called with ``self=None``), on a signature computed once."""
        signature = self._signature
        if signature is None:
            # getcallargs' view of the method: its __signature__ if set (@operation sets one),
            # decorators' __wrapped__ not followed.
            method = getattr(self.container.service_cls, self.method_name)
            signature = self._signature = inspect.Signature.from_callable(method, follow_wrapped=False)
        try:
            signature.bind(None, *args, **kwargs)
        except TypeError:
            super().check_signature(args, kwargs)  # raises IncorrectSignature with Nameko's message


def rpc(fn: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
    """``@rpc`` or ``@rpc(...)``; AgentHub's coded errors are expected (a client's mistake), so
    Nameko does not log them as failures with a traceback."""
    kwargs.setdefault("expected_exceptions", (AgentHubError,))
    decorator = Rpc.decorator(**kwargs)
    return decorator if fn is None else decorator(fn)
