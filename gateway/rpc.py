"""An asyncio RPC client speaking Nameko 2.x's AMQP protocol, on aio-pika.

Why our own: the only published asyncio Nameko proxy no longer imports with
current aio-pika, and a thread pool of ``ClusterRpcProxy`` is slower and holds a
connection per thread (``bench/rpc.py`` measures the difference).

What it guarantees to the gateway:

* a call to a service that does not exist fails in milliseconds: requests are
  published ``mandatory`` with publisher confirms, so the broker returns an
  unroutable one (``ServiceUnavailable``) before it confirms it (aiormq maps the
  return to its publish through the ``message_id``, here the correlation id).
  The confirms stay for that: on a channel without them aiormq drops a return
  unseen, and with transient requests they cost no disk wait;
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
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from aiormq.abc import DeliveredMessage
from aiormq.exceptions import ChannelInvalidStateError, DeliveryError, PublishError
from pamqp.commands import Basic

from core import metrics, tracing
from core.logs import redact_url
from schema.errors import PayloadTooLarge, ServiceUnavailable, Timeout, from_wire

log = logging.getLogger(__name__)

CONTEXT_HEADER_PREFIX = "nameko."
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# What a publish raises when the broker goes away under it. aiormq's ChannelInvalidStateError (a closed
# channel, before the close callback has run) is a RuntimeError, not an AMQPError.
BROKER_ERRORS = (aio_pika.exceptions.AMQPError, ChannelInvalidStateError, ConnectionError)


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
    ) -> None:
        self.max_message_bytes = max_message_bytes
        self.amqp_uri = amqp_uri
        self.exchange_name = exchange
        self.default_timeout = default_timeout
        self.name = name
        self.max_backoff = max_backoff
        self.reply_key = str(uuid.uuid4())
        # Correlation ids need only be unique among this client's calls: the reply key (a uuid4)
        # and a counter, instead of a uuid4 (os.urandom) per call. Also the message_id aiormq
        # maps a returned message by (it would otherwise draw random bits for one per publish).
        self._call_ids = itertools.count()
        self.connection_name = f"agenthub-{name}-{self.reply_key[:8]}"
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        # The aiormq channel under ``_channel``: calls publish and replies arrive
        # on it directly, without aio-pika's per-message objects and tasks.
        self._raw_channel: aiormq.Channel | None = None
        self._event_exchanges: dict[str, AbstractExchange] = {}
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
        if self._connection and not self._connection.is_closed:
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
            if self._connection and not self._connection.is_closed:
                try:
                    await self._connection.close()
                except Exception:  # already broken; nothing to release
                    pass

    async def _connect(self) -> None:
        self._lost = asyncio.Event()
        connection = await aio_pika.connect(
            self.amqp_uri,
            client_properties={"connection_name": self.connection_name},
            timeout=5,
        )
        try:
            connection.close_callbacks.add(self._on_closed)
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            channel.close_callbacks.add(self._on_closed)
            exchange = await channel.declare_exchange(self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True)
            queue = await channel.declare_queue(
                f"rpc.reply-{self.name}-{self.reply_key}", exclusive=True, auto_delete=True
            )
            await queue.bind(exchange, routing_key=self.reply_key)
            raw_channel = await channel.get_underlay_channel()
            assert isinstance(raw_channel, aiormq.Channel)  # aio-pika's channel is aiormq's (basic_publish(wait=))
            await raw_channel.basic_consume(queue.name, self._on_reply, no_ack=True)
        except BaseException:
            await connection.close()
            raise
        self._connection, self._channel, self._exchange = connection, channel, exchange
        self._raw_channel = raw_channel
        self._event_exchanges = {}
        self._ready.set()

    def _on_closed(self, _sender: Any, exc: BaseException | None = None) -> None:
        if not self._closing:
            log.warning("broker connection closed", extra={"fields": {"error": repr(exc)}})
        self._ready.clear()
        self._fail_pending("The connection to the message broker was lost.")
        self._lost.set()

    def _fail_pending(self, reason: str) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ServiceUnavailable(reason))

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
        raw_channel = self._raw_channel
        if not self._ready.is_set() or raw_channel is None:
            raise ServiceUnavailable("The message broker is not reachable.", {"service": service})
        body = json.dumps({"args": list(args), "kwargs": dict(kwargs or {})}).encode()
        if len(body) > self.max_message_bytes:
            raise PayloadTooLarge(
                f"The request to {service} is larger than {self.max_message_bytes} bytes.",
                {"service": service, "limit": self.max_message_bytes},
            )
        correlation_id = f"{self.reply_key}.{next(self._call_ids)}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        headers = {
            f"{CONTEXT_HEADER_PREFIX}{key}": value for key, value in (context or {}).items() if value is not None
        }
        properties = aiormq.spec.Basic.Properties(
            content_type="application/json",
            content_encoding="utf-8",
            correlation_id=correlation_id,
            message_id=correlation_id,
            reply_to=self.reply_key,
            delivery_mode=1,  # transient: see the module docstring
            expiration=str(int(timeout * 1000)),  # ms, as aio-pika encoded it
            headers=headers,
        )
        try:
            async with asyncio.timeout(timeout):  # one deadline for confirm + reply, no extra task
                try:
                    # wait=False: hand the frames to the writer and release the
                    # channel lock at once instead of holding it until they are
                    # on the socket; the broker's confirm is still awaited.
                    confirmation = await raw_channel.basic_publish(
                        body,
                        exchange=self.exchange_name,
                        routing_key=f"{service}.{method}",
                        properties=properties,
                        mandatory=True,
                        wait=False,
                    )
                except PublishError:  # returned: no queue bound for this service
                    confirmation = None
                except DeliveryError:  # nacked
                    raise ServiceUnavailable("The message broker refused the request.", {"service": service}) from None
                if confirmation is None or isinstance(confirmation, Basic.Return):
                    raise ServiceUnavailable(f"Service '{service}' is not running.", {"service": service})
                if not isinstance(confirmation, Basic.Ack):
                    raise ServiceUnavailable("The message broker refused the request.", {"service": service})
                reply = await future
        except TimeoutError:
            if await self.consumer_count(service) == 0:  # it died, or was never started on this broker
                raise ServiceUnavailable(
                    f"Service '{service}' is not running: no instance is taking requests.", {"service": service}
                ) from None
            raise Timeout(f"{service}.{method} did not answer within {timeout:g} s.", {"service": service}) from None
        except BROKER_ERRORS as exc:
            raise ServiceUnavailable("The message broker connection failed.", {"service": service}) from exc
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
        if connection is None or connection.is_closed:
            return None
        channel = None
        try:
            async with asyncio.timeout(timeout):
                channel = await connection.channel(publisher_confirms=False)
                queue = await channel.declare_queue(f"rpc-{service}", passive=True)
                return queue.declaration_result.consumer_count
        except Exception:  # missing queue, broker gone, too slow: unknown
            return None
        finally:
            if channel is not None and not channel.is_closed:
                try:
                    await channel.close()
                except Exception:
                    pass

    async def publish_event(self, source: str, event_type: str, payload: Any) -> None:
        """Dispatch a Nameko event as service ``source`` would (exchange ``{source}.events``)."""
        if not self._ready.is_set() or self._channel is None:
            raise ServiceUnavailable("The message broker is not reachable.")
        message = aio_pika.Message(
            body=json.dumps(payload).encode(),
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            exchange = self._event_exchanges.get(source)
            if exchange is None:
                exchange = await self._channel.declare_exchange(
                    f"{source}.events", aio_pika.ExchangeType.TOPIC, durable=True
                )
                self._event_exchanges[source] = exchange
            await exchange.publish(message, event_type, mandatory=False)
        except BROKER_ERRORS as exc:
            raise ServiceUnavailable("The message broker connection failed.") from exc

    async def _on_reply(self, message: DeliveredMessage) -> None:
        future = self._pending.pop(message.header.properties.correlation_id or "", None)
        if future is None or future.done():
            return  # the caller already gave up
        try:
            future.set_result(json.loads(message.body))
        except ValueError as exc:
            future.set_exception(ServiceUnavailable(f"Malformed reply: {exc}"))
