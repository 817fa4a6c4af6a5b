"""A small AMQP 0-9-1 connection for the gateway's RPC pattern, as an asyncio protocol.

Why our own instead of aio-pika/aiormq (issue 14 item 5, measured with ``bench/rpc.py``): per
RPC, aiormq reads each frame as three ``readexactly`` into a ``BytesIO`` under a lock, decodes it
with pamqp, hands it through an ``asyncio.Queue`` to the channel's task, which assembles the
message and starts a task per delivery; a publish goes through a write queue and a writer task.
That was about 900 Python calls per call, most of the client's CPU. Here ``data_received`` cuts
frames from one buffer (one read often holds many replies), the frames an RPC takes are packed and
read in place (a publish: method, content header, body; back: a confirm, a delivery's three
frames, or a return), and everything else (the handshake, declares, closes, consumer counts) goes
through pamqp, the codec aiormq uses. Nothing here knows about services: ``gateway.rpc.RpcClient``
says what to declare and what a reply means.

What it does not do, because the RPC client does not need it: more than one consuming channel,
transactions, ``basic.get``, acknowledging deliveries (the reply queue is consumed with
``no_ack``), publishing while the broker blocks the connection (``publish`` raises
``BrokerBlocked`` instead; the broker would stop reading and the writes would pile up here).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import struct
import time
from collections import deque
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from pamqp import commands, encode, frame, header, heartbeat
from pamqp.base import Frame
from pamqp.common import FieldTable

from core.amqp_frames import (
    CONTENT_ENCODING,
    CONTENT_TYPE,
    CORRELATION_ID,
    DELIVERY_MODE,
    EXPIRATION,
    FRAME_HEAD,
    HEADERS,
    PRIORITY,
    REPLY_TO,
    publish_frames,
    shortstr,
)

log = logging.getLogger(__name__)

_FRAME_END = 0xCE
_METHOD_ID = struct.Struct(">HH")
_DELIVERY_TAG = struct.Struct(">QB")  # basic.ack / basic.nack: tag, bits (multiple first)
_BODY_SIZE = struct.Struct(">Q")
_HEARTBEAT = frame.marshal(heartbeat.Heartbeat(), 0)
_BASIC_ACK, _BASIC_NACK, _BASIC_DELIVER, _BASIC_RETURN = (60, 80), (60, 120), (60, 60), (60, 50)
_REQUEST_FLAGS = (
    CONTENT_TYPE | CONTENT_ENCODING | HEADERS | DELIVERY_MODE | CORRELATION_ID | REPLY_TO | EXPIRATION
).to_bytes(2, "big")
CAPABILITIES: FieldTable = {
    "publisher_confirms": True,
    "basic.nack": True,
    "consumer_cancel_notify": True,
    "connection.blocked": True,
    "authentication_failure_close": True,
}


class ConnectionLost(ConnectionError):
    """The connection is gone (closed by the broker, the network or us); its channels with it."""


class ChannelClosed(Exception):
    """The broker closed a channel in answer to a method (e.g. 404 for a passive declare)."""

    def __init__(self, reply_code: int, reply_text: str) -> None:
        super().__init__(f"{reply_code} {reply_text}")
        self.reply_code = reply_code


class BrokerBlocked(ConnectionError):
    """The broker blocks publishers (a memory or disk alarm): a publish now would only wait."""


class ChannelsExhausted(ConnectionError):
    """Every channel number the broker allows is open: one more would close the whole connection."""


class Deliveries(Protocol):
    """What the RPC client is told of the frames it did not ask for."""

    def on_delivery(self, correlation_id: str | None, body: bytes) -> None: ...
    def on_return(self, correlation_id: str | None, routing_key: str, reply_text: str) -> None: ...
    def on_confirm(self, delivery_tag: int, multiple: bool, ack: bool) -> None: ...
    def on_lost(self, exc: BaseException) -> None: ...


def request_properties(
    *,
    correlation_id: str,
    reply_to: str,
    expiration_ms: int,
    headers: Mapping[str, Any],
    content_type: str = "application/json",
    content_encoding: str = "utf-8",
    delivery_mode: int = 1,
) -> bytes:
    """An RPC request's property flags and properties, packed as pamqp's
    ``Basic.Properties.marshal()`` packs them (``tests/unit/gateway/test_amqp.py`` compares),
    without its walk over every property per message."""
    return b"".join(
        (
            _REQUEST_FLAGS,
            shortstr(content_type),
            shortstr(content_encoding),
            encode.field_table(dict(headers)),
            bytes((delivery_mode,)),
            shortstr(correlation_id),
            shortstr(reply_to),
            shortstr(str(expiration_ms)),
        )
    )


def _correlation_id(payload: bytes, flags: int) -> str | None:
    """Read a content header's correlation id without decoding the other properties."""
    pos = 14
    if flags & CONTENT_TYPE:
        pos += 1 + payload[pos]
    if flags & CONTENT_ENCODING:
        pos += 1 + payload[pos]
    if flags & HEADERS:
        pos += 4 + int.from_bytes(payload[pos : pos + 4], "big")
    if flags & DELIVERY_MODE:
        pos += 1
    if flags & PRIORITY:
        pos += 1
    if not flags & CORRELATION_ID:
        return None
    return payload[pos + 1 : pos + 1 + payload[pos]].decode()


def _return_fields(payload: bytes) -> tuple[str, str]:
    """basic.return's reply text and routing key (after reply code, reply text, exchange)."""
    pos = 6
    text = payload[pos + 1 : pos + 1 + payload[pos]].decode(errors="replace")
    pos += 1 + payload[pos]
    pos += 1 + payload[pos]  # exchange
    return text, payload[pos + 1 : pos + 1 + payload[pos]].decode(errors="replace")


class AmqpConnection(asyncio.Protocol):
    """One AMQP connection. ``connect`` opens it; ``request`` sends a synchronous method on a
    channel and returns the broker's answer; ``publish`` writes a message's frames at once."""

    def __init__(self, deliveries: Deliveries, *, heartbeat: int = 60) -> None:
        self.deliveries = deliveries
        self.frame_max = 131072
        self.channel_max = 2047  # RabbitMQ's default, until the broker's tune says
        self.heartbeat = heartbeat
        self.blocked = False
        self.closed = False
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._outbox: list[bytes] = []  # frames published this turn of the loop, not yet written
        self._waiters: dict[int, deque[asyncio.Future[Frame]]] = {}
        self._open_channels: set[int] = set()
        self._next_tag: dict[int, int] = {}  # confirm-mode channels: the next publish's delivery tag
        self._content: list[Any] | None = None  # [is_delivery, correlation_id, size, parts, return fields]
        self._last_received = time.monotonic()
        self._heartbeat_timer: asyncio.TimerHandle | None = None
        self._lost_reason: BaseException | None = None

    # -- opening and closing ----------------------------------------------

    @classmethod
    async def connect(
        cls,
        uri: str,
        deliveries: Deliveries,
        *,
        name: str,
        timeout: float = 5.0,
        heartbeat: int = 60,
        tls: ssl.SSLContext | None = None,
    ) -> AmqpConnection:
        """Open a connection to ``uri`` (``amqp://`` or ``amqps://user:password@host:port/vhost``);
        ``tls`` for amqps:// (None: verify the broker against the system's CA store)."""
        parts = urlsplit(uri)
        if parts.query:  # aio-pika read some (heartbeat, cafile, ...); say so rather than ignore them silently
            log.warning(
                "AMQP URI options are not read by the gateway's RPC client: %s "
                "(TLS files: AGENTHUB_AMQP_CA_FILE, AGENTHUB_AMQP_CERT_FILE, AGENTHUB_AMQP_KEY_FILE)",
                parts.query,
            )
        amqps = parts.scheme == "amqps"
        port = parts.port or (5671 if amqps else 5672)
        vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
        user, password = unquote(parts.username or "guest"), unquote(parts.password or "guest")
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            _, connection = await loop.create_connection(
                lambda: cls(deliveries, heartbeat=heartbeat),
                parts.hostname or "localhost",
                port,
                ssl=(tls or ssl.create_default_context()) if amqps else None,
            )
            try:
                await connection._handshake(vhost, user, password, name)
            except BaseException:
                connection.abort()
                raise
        return connection

    async def _handshake(self, vhost: str, user: str, password: str, name: str) -> None:
        start = self._expect(0)
        self._write(header.ProtocolHeader().marshal())
        await start
        tune = self._expect(0)
        self._send(
            0,
            commands.Connection.StartOk(
                client_properties={
                    "product": "AgentHub",
                    "connection_name": name,
                    "capabilities": CAPABILITIES,
                },
                mechanism="PLAIN",
                response=f"\0{user}\0{password}",
            ),
        )
        offer = await tune
        assert isinstance(offer, commands.Connection.Tune)
        self.frame_max = min(offer.frame_max or self.frame_max, self.frame_max)
        self.heartbeat = min(offer.heartbeat, self.heartbeat) if offer.heartbeat else self.heartbeat
        self.channel_max = offer.channel_max or 65535  # 0: no limit but the field's
        self._send(0, commands.Connection.TuneOk(self.channel_max, self.frame_max, self.heartbeat))
        await self.request(0, commands.Connection.Open(vhost))
        if self.heartbeat:
            self._heartbeat_timer = asyncio.get_running_loop().call_later(self.heartbeat / 2, self._beat)

    async def open_channel(self, number: int, *, confirm: bool = False) -> None:
        self._open_channels.add(number)  # before the answer: a caller that gives up must still close it
        await self.request(number, commands.Channel.Open())
        if confirm:
            await self.request(number, commands.Confirm.Select())
            self._next_tag[number] = 1

    async def close_channel(self, number: int) -> None:
        if number in self._open_channels and not self.closed:
            self._open_channels.discard(number)  # closing: never closed twice (the broker would close the connection)
            await self.request(number, commands.Channel.Close(200, "done", 0, 0))

    def release_channel(self, number: int) -> None:
        """Close a channel without waiting for the answer: after a caller gave up on it. Its number
        is not reused until the broker's answer arrives (``free_channel`` skips awaited channels)."""
        if number not in self._open_channels or self.closed:
            return
        self._open_channels.discard(number)
        try:
            self._expect_unread(number)
            self._send(number, commands.Channel.Close(200, "done", 0, 0))
        except ConnectionLost:
            return

    async def request_alone(self, method: Frame) -> Frame:
        """Send one synchronous method on a short-lived channel of its own and return the answer:
        a method the broker refuses (a passive declare of a missing queue, a conflicting declare)
        closes that channel (``ChannelClosed``), not the RPC channel. The channel is closed again
        whatever happens, also when the caller gives up."""
        number = self.free_channel()
        try:
            await self.open_channel(number)
            answer = await self.request(number, method)
            await self.close_channel(number)
            return answer
        finally:  # nothing once close_channel got as far as closing it
            self.release_channel(number)

    def free_channel(self) -> int:
        """A channel number not open (channel 1 is the RPC channel's; the others are short-lived)."""
        number = 2
        while number in self._open_channels or number in self._waiters:
            number += 1
        if number > self.channel_max:  # the broker would close the connection, and every call on it
            raise ChannelsExhausted(f"all {self.channel_max} channels of the broker connection are in use")
        return number

    async def close(self, timeout: float = 2.0) -> None:
        """Close the connection. Messages published this turn and not yet written are dropped:
        their callers have been failed already (``RpcClient.close``)."""
        if self.closed:
            return
        self._outbox.clear()
        try:
            async with asyncio.timeout(timeout):
                await self.request(0, commands.Connection.Close(200, "closing", 0, 0))
        except (TimeoutError, ConnectionError, ChannelClosed):
            pass
        self.abort()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    # -- methods and messages -----------------------------------------------

    def _expect(self, channel: int) -> asyncio.Future[Frame]:
        """The future the next synchronous answer on ``channel`` resolves (the broker answers a
        channel's synchronous methods in the order they were sent)."""
        if self.closed:
            raise ConnectionLost(str(self._lost_reason or "the connection is closed"))
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(channel, deque()).append(future)
        return future

    def _expect_unread(self, channel: int) -> None:
        """Hold ``channel``'s place for an answer nobody awaits (it keeps the channel's later
        answers in line and its number taken until it arrives); its error, if any, is dropped."""
        self._expect(channel).add_done_callback(lambda future: future.cancelled() or future.exception())

    async def request(self, channel: int, method: Frame) -> Frame:
        """Send a synchronous method and return the broker's answer; ``ChannelClosed`` when it
        closes the channel instead, ``ConnectionLost`` when the connection goes."""
        answer = self._expect(channel)
        try:
            self._send(channel, method)
        except BaseException:
            answer.cancel()
            raise
        return await answer

    def publish(
        self,
        channel: int,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: bytes,
        *,
        mandatory: bool = False,
    ) -> int | None:
        """Write a message's frames; its delivery tag when the channel is in confirm mode.
        ``properties``: flags and properties packed (``request_properties``, or pamqp's
        ``Basic.Properties(...).marshal()``)."""
        if self.closed or self._transport is None or self._transport.is_closing():
            raise ConnectionLost(str(self._lost_reason or "the connection is closed"))
        if self.blocked:
            raise BrokerBlocked("the broker is blocking publishers (a resource alarm)")
        parts = publish_frames(channel, self.frame_max, exchange, routing_key, body, properties, mandatory=mandatory)
        outbox = self._outbox
        if not outbox:  # the first message of this turn of the loop: send them all at its end
            asyncio.get_running_loop().call_soon(self._flush)
        outbox += parts
        tag = self._next_tag.get(channel)
        if tag is not None:
            self._next_tag[channel] = tag + 1
        return tag

    def _send(self, channel: int, method: Frame) -> None:
        self._write(frame.marshal(method, channel))

    def _write(self, data: bytes) -> None:
        if self._transport is None or self._transport.is_closing():
            raise ConnectionLost(str(self._lost_reason or "the connection is closed"))
        self._flush()  # what was published before goes first
        self._transport.write(data)

    def _flush(self) -> None:
        """Write the messages published since the last flush in one ``send``: with many calls in
        flight, one system call (and one read by the broker) for several requests."""
        if self._outbox:
            data = b"".join(self._outbox)
            self._outbox.clear()
            if self._transport is not None and not self._transport.is_closing():
                self._transport.write(data)

    def _beat(self) -> None:
        """Send a heartbeat every half interval; give the connection up after two silent ones."""
        if self.closed or self._transport is None:
            return
        if time.monotonic() - self._last_received > 2 * self.heartbeat:
            self._lost_reason = ConnectionLost(f"no frame from the broker in {2 * self.heartbeat} s")
            self._transport.abort()
            return
        self._write(_HEARTBEAT)
        self._heartbeat_timer = asyncio.get_running_loop().call_later(self.heartbeat / 2, self._beat)

    # -- asyncio.Protocol ------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # a stream transport (uvloop's is not a subclass)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._heartbeat_timer is not None:
            self._heartbeat_timer.cancel()
        reason = self._lost_reason or ConnectionLost(repr(exc) if exc else "closed")
        self._lost_reason = reason
        waiters, self._waiters = self._waiters, {}
        for queue in waiters.values():
            for future in queue:
                if not future.done():
                    future.set_exception(ConnectionLost(str(reason)))
        self.deliveries.on_lost(reason)

    def data_received(self, data: bytes) -> None:
        self._last_received = time.monotonic()
        buffer = self._buffer
        buffer += data
        offset, available = 0, len(buffer)
        try:
            while available - offset >= 8:
                kind, channel, size = FRAME_HEAD.unpack_from(buffer, offset)
                end = offset + 7 + size
                if end >= available:
                    break
                if buffer[end] != _FRAME_END:
                    raise ValueError(f"frame end byte is {buffer[end]:#x}")
                self._on_frame(kind, channel, bytes(buffer[offset + 7 : end]), buffer, offset, end + 1)
                offset = end + 1
        except Exception as exc:  # a frame we cannot read: the stream cannot be trusted after it
            self._lost_reason = ConnectionLost(f"unreadable frame from the broker: {exc!r}")
            self.abort()
        del buffer[:offset]

    # -- frames ------------------------------------------------------------------

    def _on_frame(self, kind: int, channel: int, payload: bytes, buffer: bytearray, start: int, end: int) -> None:
        if kind == 1:
            ids = _METHOD_ID.unpack_from(payload)
            if ids == _BASIC_ACK or ids == _BASIC_NACK:
                tag, bits = _DELIVERY_TAG.unpack_from(payload, 4)
                self.deliveries.on_confirm(tag, bool(bits & 1), ids == _BASIC_ACK)
            elif ids == _BASIC_DELIVER:
                self._content = [True, None, 0, [], None]
            elif ids == _BASIC_RETURN:
                self._content = [False, None, 0, [], _return_fields(payload)]
            else:
                self._on_method(channel, frame.unmarshal(bytes(buffer[start:end]))[2])
        elif kind == 2:
            content = self._content
            if content is None:
                raise ValueError("a content header without its method")
            content[2] = _BODY_SIZE.unpack_from(payload, 4)[0]
            content[1] = _correlation_id(payload, payload[12] << 8 | payload[13])
            if content[2] == 0:
                self._complete(content, b"")
        elif kind == 3:
            content = self._content
            if content is None:
                raise ValueError("a content body without its header")
            content[3].append(payload)
            content[2] -= len(payload)
            if content[2] <= 0:
                parts = content[3]
                self._complete(content, parts[0] if len(parts) == 1 else b"".join(parts))
        elif kind != 8:  # 8: heartbeat, counted in data_received
            raise ValueError(f"unknown frame type {kind}")

    def _complete(self, content: list[Any], body: bytes) -> None:
        self._content = None
        if content[0]:
            self.deliveries.on_delivery(content[1], body)
        else:
            text, routing_key = content[4]
            self.deliveries.on_return(content[1], routing_key, text)

    def _on_method(self, channel: int, method: Any) -> None:
        if isinstance(method, commands.Connection.Close):
            self._lost_reason = ConnectionLost(f"closed by the broker: {method.reply_code} {method.reply_text}")
            self._write(frame.marshal(commands.Connection.CloseOk(), 0))
            self.abort()
        elif isinstance(method, commands.Connection.Blocked):
            self.blocked = True
        elif isinstance(method, commands.Connection.Unblocked):
            self.blocked = False
        elif isinstance(method, commands.Channel.Close):
            # Not open here: our own channel.close crossed the broker's, and RabbitMQ answers it
            # with a close-ok after this close. The number stays taken until that close-ok, or
            # the next channel opened on it would take it for its open-ok.
            crossed = channel not in self._open_channels
            self._write(frame.marshal(commands.Channel.CloseOk(), channel))
            self._open_channels.discard(channel)
            self._next_tag.pop(channel, None)
            for future in self._waiters.pop(channel, ()):
                if not future.done():
                    future.set_exception(ChannelClosed(method.reply_code or 0, method.reply_text))
            if crossed:
                self._expect_unread(channel)
            if channel == 1:  # the RPC channel: without it the connection is of no use
                self._lost_reason = ConnectionLost(
                    f"channel closed by the broker: {method.reply_code} {method.reply_text}"
                )
                self.abort()
        elif isinstance(method, commands.Basic.Cancel):  # the reply queue was deleted
            self._lost_reason = ConnectionLost("the broker cancelled the reply consumer")
            self.abort()
        else:
            waiters = self._waiters.get(channel)
            if not waiters:  # nothing asked for it: harmless, and nothing to do with it
                log.warning("unexpected %s from the broker on channel %d", method.name, channel)
                return
            future = waiters.popleft()
            if not waiters:
                del self._waiters[channel]
            if not future.done():
                future.set_result(method)
