"""An asyncio RPC client speaking Nameko 2.x's AMQP protocol.

Why our own: the only published asyncio Nameko proxy no longer imports with
current aio-pika, and a thread pool of ``ClusterRpcProxy`` is slower and holds a
connection per thread (``bench/rpc.py`` measures the difference). It runs on
``gateway.amqp.AmqpConnection``, not aio-pika: why, in that module.

What it guarantees to the gateway:

* a call to a service that does not exist fails in milliseconds: requests are
  published ``mandatory``, so the broker returns an unroutable one
  (``ServiceUnavailable``) at once. The channel is in confirm mode, so a request
  the broker refuses (``basic.nack``) fails at once too; with transient
  requests a confirm costs no disk wait;
* one timeout per call, also sent as the message's ``expiration``: a request
  whose caller gave up is dropped by the broker instead of running later
  (``Timeout``, or ``ServiceUnavailable`` when no instance consumes the
  service's queue any more: it crashed or was stopped);
* requests are transient (``delivery_mode=1``), at most as durable as the call
  that waits for them. Nameko declares ``rpc-<service>`` as a durable *classic*
  queue, where the broker writes a persistent message to disk (the queue index
  journal) before it confirms it; a transient one stays in memory and is
  confirmed once routed (``bench/rpc.py``: about a third less broker CPU per
  call, sequential p50 from ~1.9 to ~1.3 ms). What a persistent request would add is surviving a broker restart, and
  that buys nothing here: the reply queue is exclusive and auto-delete, so it
  dies with the connection, and the client fails every pending call with
  ``ServiceUnavailable`` when the connection drops. A request kept across the
  restart could only run afterwards with nobody waiting for its answer (a
  second side effect once the caller retried), and its ``expiration`` drops it
  anyway once the caller's timeout has passed. A broker restart therefore loses
  the requests queued or in progress; their callers have been told. A quorum
  queue would persist every message whatever the delivery mode; Nameko does not
  declare one. Killing a *service* is another matter: the broker keeps the
  unacked request in memory and redelivers it to the next instance (at least
  once, as before);
* Nameko context headers (``nameko.<key>``) carry auth token, user id,
  request id and the call-id stack to the service;
* registered domain errors come back as their own types (``schema.errors``),
  anything else as ``RemoteError``;
* a request body over ``max_message_bytes`` (64 MiB, half RabbitMQ's 128 MiB
  ``max_message_size``) is refused here with ``PayloadTooLarge``: the broker
  would close the shared channel for it, failing every call in flight;
* while the broker blocks publishers (a memory or disk alarm) calls fail at
  once with ``ServiceUnavailable`` instead of piling up unsent;
* on connection loss every pending call fails at once with
  ``ServiceUnavailable`` and the client reconnects with capped, jittered backoff.

Usage::

    client = RpcClient("amqp://guest:guest@127.0.0.1/")
    await client.start()
    health = await client.call("auth", "health", timeout=1.0)
    await client.close()
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import ssl
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from pamqp import commands

from core import metrics, tracing
from core.logs import redact_url
from gateway.amqp import AmqpConnection, BrokerBlocked, ChannelClosed, request_properties
from schema.errors import PayloadTooLarge, ServiceUnavailable, Timeout, from_wire

log = logging.getLogger(__name__)

CONTEXT_HEADER_PREFIX = "nameko."
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
RPC_CHANNEL = 1
# A Nameko event's properties (persistent JSON), packed once.
_EVENT_PROPERTIES = commands.Basic.Properties(
    content_type="application/json", content_encoding="utf-8", delivery_mode=2
).marshal()


class RpcClient:
    def __init__(
        self,
        amqp_uri: str,
        *,
        exchange: str = "nameko-rpc",
        default_timeout: float = 10.0,
        name: str = "gateway",
        max_backoff: float = 5.0,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        heartbeat: int = 60,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """``tls``: for amqps:// (``CommonSettings.amqp_ssl_context``); None: the system's CA store."""
        self.tls = tls
        self.max_message_bytes = max_message_bytes
        self.heartbeat = heartbeat  # s; the broker's own offer when lower
        self.amqp_uri = amqp_uri
        self.exchange_name = exchange
        self.default_timeout = default_timeout
        self.name = name
        self.max_backoff = max_backoff
        self.reply_key = str(uuid.uuid4())
        # Correlation ids need only be unique among this client's calls: the reply key (a uuid4)
        # and a counter, instead of a uuid4 (os.urandom) per call.
        self._call_ids = itertools.count()
        self.connection_name = f"agenthub-{name}-{self.reply_key[:8]}"
        self._pending: dict[str, asyncio.Future[Any]] = {}
        # Publishes the broker has not confirmed yet, by delivery tag: a call's correlation id
        # (a nack fails the call) or an event's future.
        self._unconfirmed: dict[int, str | asyncio.Future[None]] = {}
        self._connection: AmqpConnection | None = None
        self._declared_event_exchanges: set[str] = set()
        self._ready = asyncio.Event()
        self._lost = asyncio.Event()
        self._closing = False
        self._supervisor: asyncio.Task[None] | None = None
        self.reconnects = 0

    # -- lifecycle -------------------------------------------------------

    async def start(self, wait: float | None = 5.0) -> None:
        """Start connecting; wait up to ``wait`` s for the first connection.

        The client keeps trying in the background when the broker is down, so
        a gateway started before RabbitMQ becomes ready once RabbitMQ does.
        """
        self._supervisor = asyncio.create_task(self._supervise(), name="rpc-connection")
        if wait:
            try:
                await asyncio.wait_for(self._ready.wait(), wait)
            except TimeoutError:
                log.warning(
                    "broker not reachable yet; retrying in the background",
                    extra={"fields": {"amqp": redact_url(self.amqp_uri)}},
                )

    async def close(self) -> None:
        self._closing = True
        if self._supervisor:
            self._supervisor.cancel()
            try:
                await self._supervisor
            except (asyncio.CancelledError, Exception):
                pass
        self._fail_pending("The RPC client is shutting down.")
        if self._connection is not None:
            await self._connection.close()

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    async def _supervise(self) -> None:
        attempt = 0
        while not self._closing:
            try:
                await self._connect()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure to connect means: wait, then retry
                attempt += 1
                delay = min(self.max_backoff, 0.1 * 2 ** min(attempt, 10)) * random.uniform(0.5, 1.0)
                log.warning(
                    "broker connection failed; retrying",
                    extra={"fields": {"error": repr(exc), "retry_in_s": round(delay, 2)}},
                )
                await asyncio.sleep(delay)
                continue
            if attempt or self.reconnects:
                log.info("broker connection restored")
            attempt = 0
            await self._lost.wait()
            self._ready.clear()
            self._fail_pending("The connection to the message broker was lost.")
            self.reconnects += 1
            if self._connection is not None:
                self._connection.abort()

    async def _connect(self) -> None:
        self._lost = asyncio.Event()
        # A reply queue of its own per connection: after a connection given up on a heartbeat
        # timeout the broker may keep the old exclusive queue (locked) until it notices the peer
        # is gone, up to two heartbeat intervals; re-declaring the same name would fail until then.
        reply_key = str(uuid.uuid4())
        connection = await AmqpConnection.connect(
            self.amqp_uri, self, name=self.connection_name, timeout=5, heartbeat=self.heartbeat, tls=self.tls
        )
        try:
            async with asyncio.timeout(5):
                await connection.open_channel(RPC_CHANNEL, confirm=True)
                await connection.request(
                    RPC_CHANNEL,
                    commands.Exchange.Declare(exchange=self.exchange_name, exchange_type="topic", durable=True),
                )
                queue = f"rpc.reply-{self.name}-{reply_key}"
                await connection.request(
                    RPC_CHANNEL, commands.Queue.Declare(queue=queue, exclusive=True, auto_delete=True)
                )
                await connection.request(
                    RPC_CHANNEL,
                    commands.Queue.Bind(queue=queue, exchange=self.exchange_name, routing_key=reply_key),
                )
                await connection.request(RPC_CHANNEL, commands.Basic.Consume(queue=queue, no_ack=True))
        except BaseException:
            connection.abort()
            raise
        self._connection, self.reply_key = connection, reply_key
        self._unconfirmed = {}
        self._declared_event_exchanges = set()
        self._ready.set()

    def _fail_pending(self, reason: str) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ServiceUnavailable(reason))
        unconfirmed, self._unconfirmed = self._unconfirmed, {}
        for waiting in unconfirmed.values():
            if isinstance(waiting, asyncio.Future) and not waiting.done():
                waiting.set_exception(ServiceUnavailable(reason))

    # -- what the connection reports (gateway.amqp.Deliveries) ------------

    def on_delivery(self, correlation_id: str | None, body: bytes) -> None:
        future = self._pending.pop(correlation_id or "", None)
        if future is None or future.done():
            return  # the caller already gave up
        try:
            future.set_result(json.loads(body))
        except ValueError as exc:
            future.set_exception(ServiceUnavailable(f"Malformed reply: {exc}"))

    def on_return(self, correlation_id: str | None, routing_key: str, reply_text: str) -> None:
        """The broker returned a request no queue is bound for: its service is not running."""
        future = self._pending.pop(correlation_id or "", None)
        if future is not None and not future.done():
            service = routing_key.partition(".")[0]
            future.set_exception(ServiceUnavailable(f"Service '{service}' is not running.", {"service": service}))

    def on_confirm(self, delivery_tag: int, multiple: bool, ack: bool) -> None:
        unconfirmed = self._unconfirmed
        if multiple:  # every tag up to this one; tags are inserted in increasing order
            tags = list(itertools.takewhile(lambda tag: tag <= delivery_tag, unconfirmed))
        else:
            tags = [delivery_tag]
        for tag in tags:
            waiting = unconfirmed.pop(tag, None)
            if isinstance(waiting, asyncio.Future):
                if not waiting.done():
                    if ack:
                        waiting.set_result(None)
                    else:
                        waiting.set_exception(ServiceUnavailable("The message broker refused the event."))
            elif waiting is not None and not ack:
                future = self._pending.pop(waiting, None)
                if future is not None and not future.done():
                    future.set_exception(ServiceUnavailable("The message broker refused the request."))

    def on_lost(self, exc: BaseException) -> None:
        if not self._closing:
            log.warning("broker connection closed", extra={"fields": {"error": str(exc)}})
        self._ready.clear()
        self._fail_pending("The connection to the message broker was lost.")
        self._lost.set()

    # -- calls -----------------------------------------------------------

    async def call(
        self,
        service: str,
        method: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Any:
        """Call ``service.method(*args, **kwargs)``; return its result or raise its error."""
        started, outcome = time.perf_counter(), "ok"
        span = tracing.start(f"{service}.{method}", kind="client")
        context = {**(context or {}), "traceparent": span.context.traceparent}
        try:
            return await self._call(service, method, args, kwargs, timeout, context)
        except Timeout:
            outcome = "timeout"
            raise
        except ServiceUnavailable:
            outcome = "unavailable"
            raise
        except Exception as exc:
            outcome = metrics.code_of(exc)
            raise
        finally:
            span.end(None if outcome == "ok" else RuntimeError(outcome))
            metrics.RPC_CALLS.labels(service, method, outcome).inc()
            metrics.RPC_CALL_DURATION.labels(service, method).observe(time.perf_counter() - started)

    async def _call(
        self,
        service: str,
        method: str,
        args: Sequence[Any],
        kwargs: Mapping[str, Any] | None,
        timeout: float | None,
        context: Mapping[str, Any] | None,
    ) -> Any:
        timeout = self.default_timeout if timeout is None else timeout
        connection = self._connection
        if not self._ready.is_set() or connection is None:
            raise ServiceUnavailable("The message broker is not reachable.", {"service": service})
        body = json.dumps({"args": list(args), "kwargs": dict(kwargs or {})}).encode()
        if len(body) > self.max_message_bytes:
            raise PayloadTooLarge(
                f"The request to {service} is larger than {self.max_message_bytes} bytes.",
                {"service": service, "limit": self.max_message_bytes},
            )
        correlation_id = f"{self.reply_key}.{next(self._call_ids)}"
        properties = request_properties(
            correlation_id=correlation_id,
            reply_to=self.reply_key,
            expiration_ms=int(timeout * 1000),
            headers={
                f"{CONTEXT_HEADER_PREFIX}{key}": value for key, value in (context or {}).items() if value is not None
            },
        )
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        try:
            try:
                tag = connection.publish(
                    RPC_CHANNEL, self.exchange_name, f"{service}.{method}", body, properties, mandatory=True
                )
            except BrokerBlocked:
                raise ServiceUnavailable(
                    "The message broker is refusing new messages for now (a resource alarm).", {"service": service}
                ) from None
            except ConnectionError as exc:
                raise ServiceUnavailable("The message broker connection failed.", {"service": service}) from exc
            if tag is not None:
                self._unconfirmed[tag] = correlation_id
            async with asyncio.timeout(timeout):  # one deadline for the reply, no extra task
                reply = await future
        except TimeoutError:
            if await self.consumer_count(service) == 0:  # it died, or was never started on this broker
                raise ServiceUnavailable(
                    f"Service '{service}' is not running: no instance is taking requests.", {"service": service}
                ) from None
            raise Timeout(f"{service}.{method} did not answer within {timeout:g} s.", {"service": service}) from None
        finally:
            self._pending.pop(correlation_id, None)
        if reply.get("error"):
            raise from_wire(reply["error"])
        return reply.get("result")

    async def consumer_count(self, service: str, timeout: float = 1.0) -> int | None:
        """How many instances consume ``service``'s queue; None when the broker cannot say.

        Asked on a channel of its own: a passive declare of a missing queue closes its channel.
        """
        connection = self._connection
        if connection is None or connection.closed:
            return None
        try:
            async with asyncio.timeout(timeout):
                answer = await connection.request_alone(commands.Queue.Declare(queue=f"rpc-{service}", passive=True))
        except (TimeoutError, ConnectionError, ChannelClosed):  # missing queue, broker gone, too slow: unknown
            return None
        assert isinstance(answer, commands.Queue.DeclareOk)
        return answer.consumer_count

    async def publish_event(self, source: str, event_type: str, payload: Any, timeout: float = 5.0) -> None:
        """Dispatch a Nameko event as service ``source`` would (exchange ``{source}.events``),
        persistent, and return once the broker has confirmed it."""
        connection = self._connection
        if not self._ready.is_set() or connection is None:
            raise ServiceUnavailable("The message broker is not reachable.")
        exchange = f"{source}.events"
        try:
            async with asyncio.timeout(timeout):
                if exchange not in self._declared_event_exchanges:
                    await connection.request_alone(
                        commands.Exchange.Declare(exchange=exchange, exchange_type="topic", durable=True)
                    )
                    self._declared_event_exchanges.add(exchange)
                tag = connection.publish(
                    RPC_CHANNEL, exchange, event_type, json.dumps(payload).encode(), _EVENT_PROPERTIES
                )
                confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                assert tag is not None  # the RPC channel is in confirm mode
                self._unconfirmed[tag] = confirmed
                await confirmed
        except (TimeoutError, ConnectionError, ChannelClosed) as exc:
            raise ServiceUnavailable("The message broker connection failed.") from exc
