"""``gateway.amqp`` writes and reads the frames of an RPC exactly as pamqp (aiormq's codec) does."""

from __future__ import annotations

import asyncio

import pytest
from pamqp import commands, frame, header, heartbeat
from pamqp.body import ContentBody

from gateway.amqp import AmqpConnection, BrokerBlocked, ConnectionLost, request_properties


class _Recorder:
    """What the connection is told, in order."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def on_delivery(self, correlation_id, body):
        self.events.append(("delivery", correlation_id, body))

    def on_return(self, correlation_id, routing_key, reply_text):
        self.events.append(("return", correlation_id, routing_key, reply_text))

    def on_confirm(self, delivery_tag, multiple, ack):
        self.events.append(("confirm", delivery_tag, multiple, ack))

    def on_lost(self, exc):
        self.events.append(("lost", str(exc)))


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closing = False

    def write(self, data) -> None:
        self.written += bytes(data)

    def is_closing(self) -> bool:
        return self.closing

    def abort(self) -> None:
        self.closing = True


def _connection() -> tuple[AmqpConnection, _Recorder, _Transport]:
    recorder, transport = _Recorder(), _Transport()
    connection = AmqpConnection(recorder)
    connection.connection_made(transport)
    return connection, recorder, transport


HEADERS = {
    "nameko.auth_token": "token-abc",
    "nameko.call_id_stack": ["gateway.graphql.req-1", "auth.me.2"],
    "nameko.traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
}


def _pamqp_request_properties(correlation_id: str, reply_to: str, expiration: str, headers: dict):
    return commands.Basic.Properties(
        content_type="application/json",
        content_encoding="utf-8",
        headers=headers,
        delivery_mode=1,
        correlation_id=correlation_id,
        reply_to=reply_to,
        expiration=expiration,
    )


@pytest.mark.parametrize("headers", [{}, HEADERS])
def test_request_properties_are_pamqps_bytes(headers):
    ours = request_properties(correlation_id="key.17", reply_to="key", expiration_ms=10_000, headers=headers)
    assert ours == _pamqp_request_properties("key.17", "key", "10000", headers).marshal()


@pytest.mark.parametrize("size", [0, 10, 131_072 - 8, 300_000])
async def test_a_publish_is_pamqps_frames_split_at_frame_max(size):
    connection, _, transport = _connection()
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    properties = request_properties(correlation_id="k.1", reply_to="k", expiration_ms=500, headers=HEADERS)
    connection.publish(3, "nameko-rpc", "echo.echo", body, properties, mandatory=True)
    assert transport.written == b""  # written at the end of this turn of the loop, with the turn's others
    await asyncio.sleep(0)
    expected = frame.marshal(commands.Basic.Publish(exchange="nameko-rpc", routing_key="echo.echo", mandatory=True), 3)
    expected += frame.marshal(
        header.ContentHeader(
            body_size=size,
            properties=_pamqp_request_properties("k.1", "k", "500", HEADERS),
        ),
        3,
    )
    for offset in range(0, size, connection.frame_max - 8):
        expected += frame.marshal(ContentBody(body[offset : offset + connection.frame_max - 8]), 3)
    assert transport.written == expected


def _delivery(channel: int, correlation_id: str | None, body: bytes, frame_max: int = 131_072) -> bytes:
    data = frame.marshal(commands.Basic.Deliver("ctag", 7, False, "nameko-rpc", "key"), channel)
    properties = commands.Basic.Properties(
        content_type="application/json",
        content_encoding="utf-8",
        headers={"nameko.x": "y"},
        delivery_mode=1,
        priority=0,
        correlation_id=correlation_id,
    )
    data += frame.marshal(header.ContentHeader(body_size=len(body), properties=properties), channel)
    for offset in range(0, len(body), frame_max - 8):
        data += frame.marshal(ContentBody(body[offset : offset + frame_max - 8]), channel)
    return data


def test_deliveries_returns_and_confirms_are_read_from_any_split_of_the_stream():
    body = b'{"result": "' + b"a" * 200_000 + b'", "error": null}'
    stream = (
        frame.marshal(commands.Basic.Ack(1, multiple=False), 1)
        + _delivery(1, "key.1", body)
        + frame.marshal(commands.Basic.Nack(3, multiple=True), 1)
        + frame.marshal(commands.Basic.Return(312, "NO_ROUTE", "nameko-rpc", "ghost.health"), 1)
        + frame.marshal(
            header.ContentHeader(body_size=0, properties=commands.Basic.Properties(correlation_id="key.2")), 1
        )
        + _delivery(1, None, b"{}")
        + frame.marshal(commands.Basic.Ack(4, multiple=True), 1)
    )
    expected = [
        ("confirm", 1, False, True),
        ("delivery", "key.1", body),
        ("confirm", 3, True, False),
        ("return", "key.2", "ghost.health", "NO_ROUTE"),
        ("delivery", None, b"{}"),
        ("confirm", 4, True, True),
    ]
    for piece in (len(stream), 1, 7, 1000):
        connection, recorder, transport = _connection()
        for offset in range(0, len(stream), piece):
            connection.data_received(stream[offset : offset + piece])
        assert recorder.events == expected, piece
        assert not transport.closing


async def test_synchronous_answers_resolve_their_channels_requests_in_order():
    connection, _, transport = _connection()
    first = asyncio.ensure_future(connection.request(2, commands.Channel.Open()))
    second = asyncio.ensure_future(connection.request(2, commands.Queue.Declare(queue="rpc-echo", passive=True)))
    await asyncio.sleep(0)
    assert transport.written == frame.marshal(commands.Channel.Open(), 2) + frame.marshal(
        commands.Queue.Declare(queue="rpc-echo", passive=True), 2
    )
    connection.data_received(
        frame.marshal(commands.Channel.OpenOk(), 2) + frame.marshal(commands.Queue.DeclareOk("rpc-echo", 0, 3), 2)
    )
    assert isinstance(await first, commands.Channel.OpenOk)
    assert (await second).consumer_count == 3


async def test_a_channel_the_broker_closes_fails_its_request_and_is_answered():
    from gateway.amqp import ChannelClosed

    connection, recorder, transport = _connection()
    pending = asyncio.ensure_future(connection.request(2, commands.Queue.Declare(queue="rpc-ghost", passive=True)))
    await asyncio.sleep(0)
    transport.written = b""
    connection.data_received(frame.marshal(commands.Channel.Close(404, "NOT_FOUND - no queue 'rpc-ghost'", 50, 10), 2))
    with pytest.raises(ChannelClosed) as raised:
        await pending
    assert raised.value.reply_code == 404
    assert transport.written == frame.marshal(commands.Channel.CloseOk(), 2)
    assert not transport.closing and recorder.events == []


def test_the_broker_closing_the_connection_is_answered_and_reported_lost():
    connection, recorder, transport = _connection()
    connection.data_received(
        frame.marshal(commands.Connection.Close(320, "CONNECTION_FORCED - closed by test", 0, 0), 0)
    )
    assert transport.written == frame.marshal(commands.Connection.CloseOk(), 0)
    assert transport.closing
    connection.connection_lost(None)
    assert recorder.events == [("lost", "closed by the broker: 320 CONNECTION_FORCED - closed by test")]
    with pytest.raises(ConnectionLost):
        connection.publish(
            1, "x", "y", b"", request_properties(correlation_id="c", reply_to="r", expiration_ms=1, headers={})
        )


def test_a_corrupt_frame_drops_the_connection():
    connection, recorder, transport = _connection()
    good = frame.marshal(commands.Basic.Ack(1, multiple=False), 1)
    connection.data_received(good[:-1] + b"\x00")
    assert transport.closing
    connection.connection_lost(None)
    assert recorder.events[-1][0] == "lost" and "unreadable frame" in recorder.events[-1][1]


async def test_heartbeats_are_sent_and_a_silent_broker_is_given_up():
    connection, recorder, transport = _connection()
    connection.heartbeat = 2
    connection._beat()  # what the timer calls every heartbeat / 2
    assert transport.written == frame.marshal(heartbeat.Heartbeat(), 0)
    assert not transport.closing
    connection._last_received -= 4.5  # two intervals without a frame from the broker
    connection._beat()
    assert transport.closing
    connection.connection_lost(None)
    assert recorder.events == [("lost", "no frame from the broker in 4 s")]


async def test_publishes_of_one_turn_leave_in_one_write_and_before_a_method():
    connection, _, transport = _connection()
    writes: list[bytes] = []
    transport.write = writes.append  # type: ignore[method-assign]
    properties = request_properties(correlation_id="k.1", reply_to="k", expiration_ms=500, headers={})
    for _ in range(3):
        connection.publish(1, "nameko-rpc", "echo.echo", b"{}", properties)
    connection.release_channel(2)  # not open: nothing
    connection._open_channels.add(2)
    connection.release_channel(2)  # a method: the publishes go first, in the same order
    assert len(writes) == 2 and writes[1] == frame.marshal(commands.Channel.Close(200, "done", 0, 0), 2)
    assert writes[0].count(b"echo.echo") == 3
    await asyncio.sleep(0)
    assert len(writes) == 2  # nothing left to flush


async def test_publishing_while_the_broker_blocks_publishers_fails_at_once():
    connection, _, transport = _connection()
    properties = request_properties(correlation_id="c", reply_to="r", expiration_ms=1, headers={})
    connection.data_received(frame.marshal(commands.Connection.Blocked("low on memory"), 0))
    with pytest.raises(BrokerBlocked):
        connection.publish(1, "nameko-rpc", "echo.echo", b"{}", properties)
    connection.data_received(frame.marshal(commands.Connection.Unblocked(), 0))
    assert connection.publish(1, "nameko-rpc", "echo.echo", b"{}", properties) is None  # not in confirm mode
    assert not transport.closing


async def test_a_channel_both_sides_close_at_once_is_not_reused_before_the_brokers_close_ok():
    """The broker closes a side channel (404 on a passive declare) while our channel.close for it
    is on its way (the caller timed out): RabbitMQ answers that close with a close-ok after its
    own close. Until then the number is not free, or the next channel opened on it would take
    that close-ok for its open-ok, and every answer on it would be one behind."""
    from gateway.amqp import ChannelClosed

    connection, _, transport = _connection()
    connection._open_channels.add(2)
    declare = asyncio.ensure_future(connection.request(2, commands.Queue.Declare(queue="rpc-ghost", passive=True)))
    await asyncio.sleep(0)
    declare.cancel()  # the caller's timeout
    connection.release_channel(2)
    connection.data_received(frame.marshal(commands.Channel.Close(404, "NOT_FOUND - no queue", 50, 10), 2))
    assert transport.written.endswith(frame.marshal(commands.Channel.CloseOk(), 2))
    assert connection.free_channel() == 3
    opened = asyncio.ensure_future(connection.open_channel(connection.free_channel()))
    await asyncio.sleep(0)
    connection.data_received(frame.marshal(commands.Channel.CloseOk(), 2))  # the answer to our close
    assert connection.free_channel() == 2 and not opened.done()
    connection.data_received(frame.marshal(commands.Channel.OpenOk(), 3))
    await opened
    assert not transport.closing
    with pytest.raises((ChannelClosed, asyncio.CancelledError)):
        await declare


async def test_a_side_channel_beyond_the_brokers_channel_max_is_refused_not_opened():
    """RabbitMQ closes the whole connection (every call on it) when a channel number exceeds the
    channel_max it offered; the one request that wanted it fails instead."""
    from gateway.amqp import ChannelsExhausted

    connection, _, transport = _connection()
    connection.channel_max = 3
    waiting = [
        asyncio.ensure_future(connection.request_alone(commands.Queue.Declare(queue=f"rpc-{n}", passive=True)))
        for n in range(2)
    ]
    await asyncio.sleep(0)
    assert connection._open_channels == {2, 3}
    written = transport.written
    with pytest.raises(ChannelsExhausted):
        await connection.request_alone(commands.Queue.Declare(queue="rpc-more", passive=True))
    assert transport.written == written and not transport.closing  # nothing sent for it
    for request in waiting:
        request.cancel()


async def test_closing_drops_what_was_published_and_not_yet_written():
    """RpcClient.close fails its pending calls first: their requests must not run afterwards."""
    connection, _, transport = _connection()
    properties = request_properties(correlation_id="c", reply_to="r", expiration_ms=1, headers={})
    connection.publish(1, "nameko-rpc", "echo.echo", b"{}", properties)
    await connection.close(timeout=0.01)  # no broker to answer: gives up and aborts
    assert transport.written == frame.marshal(commands.Connection.Close(200, "closing", 0, 0), 0)
    assert transport.closing
