"""AMQP 0-9-1 frames of a published message, packed directly: the one piece of framing the
services' reply path (``services.common.wire``) and the gateway's connection (``gateway.amqp``)
share. Packed here rather than by py-amqp's or pamqp's generic encoders because a message is
most of what an RPC writes (``bench/README.md``: Python calls per RPC)."""

from __future__ import annotations

import struct

FRAME_HEAD = struct.Struct(">BHI")  # type, channel, size
FRAME_END = b"\xce"
_PUBLISH = struct.Struct(">HHH")  # basic.publish: class 60, method 40, reserved short
_CONTENT_HEADER = struct.Struct(">HHQ")  # class 60, weight 0, body size; then flags and properties
# basic's property flags, in the order of the content header (AMQP 0-9-1, 4.2.6.1)
CONTENT_TYPE, CONTENT_ENCODING, HEADERS, DELIVERY_MODE, PRIORITY = 0x8000, 0x4000, 0x2000, 0x1000, 0x0800
CORRELATION_ID, REPLY_TO, EXPIRATION = 0x0400, 0x0200, 0x0100


def shortstr(value: str) -> bytes:
    data = value.encode()
    if len(data) > 255:
        raise ValueError(f"AMQP short string over 255 bytes: {data[:32]!r}...")
    return bytes((len(data),)) + data


def publish_frames(
    channel_id: int, frame_max: int, exchange: str, routing_key: str, body: bytes, properties: bytes, *, mandatory: bool
) -> list[bytes]:
    """The parts of a ``basic.publish``'s frames (method, content header, body split at
    ``frame_max``), to be joined or written together. ``properties``: the property flags and
    values, packed as pamqp's ``Basic.Properties.marshal()`` packs them."""
    method = b"".join(
        (_PUBLISH.pack(60, 40, 0), shortstr(exchange), shortstr(routing_key), b"\x01" if mandatory else b"\x00")
    )
    header = _CONTENT_HEADER.pack(60, 0, len(body)) + properties
    parts = [
        FRAME_HEAD.pack(1, channel_id, len(method)),
        method,
        FRAME_END,
        FRAME_HEAD.pack(2, channel_id, len(header)),
        header,
        FRAME_END,
    ]
    chunk = frame_max - 8
    for offset in range(0, len(body), chunk):
        piece = body[offset : offset + chunk]
        parts += (FRAME_HEAD.pack(3, channel_id, len(piece)), piece, FRAME_END)
    return parts
