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
on the channel. The frames are packed by ``services.common.wire`` (the bytes
py-amqp would write, without its generic encoder); like py-amqp's
``basic_publish``, what the broker sent on that connection is read first when
there is any, so a connection it closed fails here and is replaced instead of
swallowing the reply. A dead connection is replaced once per reply before
giving up.

Requests are consumed on ``services.common.wire``'s transport (frames cut from
what one ``recv`` returns), by a ``QueueConsumer`` of the RPC queue's own that
hands a request to the entrypoint in its thread when the worker pool has room
(Nameko spawns a green thread per message only to spawn the worker's); workers
run in ``services.common.container.ServiceContainer`` (Nameko's without its
per-worker DEBUG timing). What each cut saved: ``bench/README.md``.

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
mismatch is still reported by Nameko's own check, with its message. Context
headers are unpacked as Nameko's ``HeaderDecoder`` does, with the prefix built
once per request instead of once per header.

A Redis outage inside any RPC reaches the caller as the typed
``ServiceUnavailable`` naming ``redis``, never as an unexpected error.
"""

from __future__ import annotations

import inspect
import logging
import select
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any

import kombu
import kombu.serialization
from eventlet.patcher import original
from eventlet.semaphore import Semaphore
from nameko import rpc as nameko_rpc
from nameko.exceptions import UnserializableValueError, serialize

from core.redis_client import is_redis_down, redis_unavailable
from schema.errors import AgentHubError, ServiceUnavailable
from services.common.consumers import QueueConsumer
from services.common.wire import ConsumerTransport, publish_frames

log = logging.getLogger("agenthub.rpc")
# select.poll, which eventlet's monkey patch removes; poll(0) never blocks, so the original is safe
_select = original("select")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class _ReplyChannel:
    """One AMQP connection and channel for every reply this process sends (see the module docstring)."""

    def __init__(self, amqp_uri: str, ssl: Any = None, login_method: str | None = None) -> None:
        self.amqp_uri, self.ssl, self.login_method = amqp_uri, ssl, login_method
        self._lock = Semaphore(1)
        self._connection: kombu.Connection | None = None
        self._channel: Any = None  # an amqp channel
        self._poller: Any = None  # select.poll on its socket: has the broker said anything?

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
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._channel is None:
                        self._connect()
                    connection = self._channel.connection
                    if self._poller.poll(0):
                        # As py-amqp's basic_publish (it drains on every publish): read what the
                        # broker sent, so a connection it closed (restart, forced close) raises
                        # here and the reply goes out on a new one instead of into a dead socket.
                        try:
                            connection.drain_events(timeout=0)
                        except TimeoutError:
                            pass
                    # py-amqp's basic_publish, frames packed by services.common.wire
                    connection.transport.write(
                        publish_frames(
                            self._channel.channel_id,
                            connection.frame_max,
                            body,
                            exchange=exchange,
                            routing_key=routing_key,
                            content_type=content_type,
                            content_encoding=content_encoding,
                            correlation_id=correlation_id,
                            delivery_mode=1,  # transient: see the module docstring
                        )
                    )
                    connection.bytes_sent += 1
                    return
                except Exception:  # a dead connection (broker restarted, connection closed): one new one
                    self.close()
                    if attempt == 2:
                        raise

    def _connect(self) -> None:
        connection = kombu.Connection(self.amqp_uri, ssl=self.ssl, login_method=self.login_method, connect_timeout=5)
        connection.connect()
        self._connection, self._channel = connection, connection.channel()
        self._poller = _select.poll()
        self._poller.register(connection.connection.sock, select.POLLIN)

    def close(self) -> None:
        connection, self._connection, self._channel, self._poller = self._connection, None, None, None
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


class _RpcQueueConsumer(QueueConsumer):
    """Nameko's ``QueueConsumer`` for the RPC queue, without a green thread per request when it can.

    Nameko's spawns a managed green thread per message only to call the entrypoint's
    ``handle_message``, which spawns the worker's own green thread: two per request. When the
    worker pool has a free slot, spawning the worker cannot block, so the request is handed to
    the entrypoint in the consumer's thread; when it is full (events and timers share the pool),
    Nameko's way, so the consumer never waits for a worker to end.
    """

    @property
    def connection(self) -> kombu.Connection:
        """Nameko's connection parameters, on ``services.common.wire``'s transport."""
        connection: kombu.Connection = super().connection.clone(transport=ConsumerTransport)
        return connection

    def handle_message(self, provider: Any, body: Any, message: Any) -> None:
        if self.container._worker_pool.free() > 0:
            provider.handle_message(body, message)
        else:
            super().handle_message(provider, body, message)


class _RpcConsumer(nameko_rpc.RpcConsumer):
    queue_consumer = _RpcQueueConsumer()
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

    def unpack_message_headers(self, message: Any) -> dict[str, Any]:
        """As Nameko's ``HeaderDecoder``: ``nameko.<key>`` headers as ``<key>``, others as they are
        (without formatting the prefix again for every header)."""
        prefix = f"{self.header_prefix}."
        size = len(prefix)
        return {key[size:] if key.startswith(prefix) else key: value for key, value in message.headers.items()}

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
