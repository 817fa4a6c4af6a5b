"""``services.common.wire`` sends and reads exactly what py-amqp does."""

from __future__ import annotations

import contextlib
import socket

import amqp
import pytest
from amqp.method_framing import frame_writer

from services.common.wire import _ReadAheadTransport, publish_frames


class _Recorder:
    """Stands in for py-amqp's transport and connection: records what frame_writer writes."""

    def __init__(self, frame_max: int) -> None:
        self.frame_max, self.bytes_sent, self.written = frame_max, 0, b""
        self.client_properties: dict = {}
        self.transport = self

    def having_timeout(self, timeout: float | None) -> contextlib.nullcontext:
        return contextlib.nullcontext()

    def write(self, data: bytes) -> None:
        self.written += bytes(data)


def py_amqp_publish(frame_max: int, channel_id: int, body: bytes | str, **fields) -> bytes:
    recorder = _Recorder(frame_max)
    channel = amqp.Channel.__new__(amqp.Channel)  # only what _basic_publish needs
    channel.connection, channel.channel_id = recorder, channel_id
    recorder.frame_writer = frame_writer(recorder, recorder)
    message = amqp.Message(
        body,
        content_type=fields["content_type"],
        content_encoding=fields["content_encoding"],
        correlation_id=fields["correlation_id"],
        delivery_mode=1,
        priority=0,
        application_headers={},
    )
    channel._basic_publish(message, exchange=fields["exchange"], routing_key=fields["routing_key"])
    return recorder.written


@pytest.mark.parametrize(
    ("frame_max", "body", "correlation_id"),
    [
        (131072, b'{"result": {"i": 1, "text": "hello, echo"}, "error": null}', "5e1c.17"),
        (131072, b'{"result": null, "error": null}', None),
        (131072, '{"result": "d\u00e9j\u00e0 vu", "error": null}', "1"),  # kombu's JSON is a str
        (4096, "é".encode() * 10_000, "a" * 255),  # body over several frames
        (4096, b"x" * (4096 - 8), "c"),  # exactly one frame's room
    ],
)
def test_publish_frames_are_py_amqps(frame_max: int, body: bytes | str, correlation_id: str | None) -> None:
    fields = {
        "exchange": "nameko-rpc",
        "routing_key": "0b6f3c2e-6e0c-4c56-9d43-3c4b8f8f6a51",
        "content_type": "application/json",
        "content_encoding": "utf-8",
        "correlation_id": correlation_id,
    }
    assert publish_frames(3, frame_max, body, **fields) == py_amqp_publish(frame_max, 3, body, **fields)


def test_a_short_string_over_255_bytes_is_refused() -> None:
    with pytest.raises(ValueError):
        publish_frames(
            1,
            131072,
            b"{}",
            exchange="x",
            routing_key="r" * 256,
            content_type="a",
            content_encoding="b",
            correlation_id=None,
        )


def test_read_ahead_cuts_frames_from_what_the_socket_has() -> None:
    ours, theirs = socket.socketpair()
    transport = _ReadAheadTransport.__new__(_ReadAheadTransport)
    transport.sock, transport.raise_on_initial_eintr = ours, True
    transport._setup_transport()
    frames = [b"\x01\x00\x01\x00\x00\x00\x03abc\xce", b"\x03\x00\x01\x00\x00\x00\x01z\xce"]
    theirs.sendall(b"".join(frames) + frames[0][:5])
    assert transport.read_frame() == (1, 1, b"abc")
    assert transport.read_frame() == (3, 1, b"z")
    theirs.sendall(frames[0][5:])  # the rest of a frame whose start was read ahead
    assert transport.read_frame() == (1, 1, b"abc")
    theirs.close()
    with pytest.raises(OSError):
        transport.read_frame()
    ours.close()
