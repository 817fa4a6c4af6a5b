"""The two AMQP paths every RPC request takes through a service, without py-amqp's generic machinery.

Both are byte for byte what py-amqp sends and reads (``tests/unit/services/test_wire.py``
compares them); they only do less work per message. Measured with ``bench/rpc.py`` and
``cProfile`` in the echo service, they are most of the Python calls of an echo RPC.

* ``publish_frames``: the three frames of a ``basic.publish`` (method, content header,
  body split at ``frame_max``) for an RPC reply, packed directly. py-amqp builds an
  ``amqp.Message``, serialises the arguments and the properties through its generic
  table/format encoder (``dumps``: a loop over a format string per frame), then packs the
  frames into a shared buffer: about sixty Python calls per reply.
* ``ConsumerTransport``: the connection a service's RPC queue is consumed on
  (``services.common.rpc``). py-amqp reads a frame as three exact-size ``recv`` calls (its
  header, payload, end byte), each through eventlet's green socket, and sets the socket's
  timeout and back around every frame; a request is three frames, so nine ``recv`` and
  six ``settimeout`` per request. Here a ``recv`` takes what the socket has (up to 64 KiB;
  a whole request usually) and frames are cut from that buffer, and the timeout is set
  once per ``drain_events``, not per frame. TLS connections keep py-amqp's transport.
"""

from __future__ import annotations

import errno
from typing import Any

import amqp
import amqp.transport
from kombu.transport import pyamqp

from core import amqp_frames
from core.amqp_frames import CONTENT_ENCODING, CONTENT_TYPE, CORRELATION_ID, DELIVERY_MODE, HEADERS, PRIORITY, shortstr

_READ_AHEAD = 65536


def publish_frames(
    channel_id: int,
    frame_max: int,
    body: bytes | str,
    *,
    exchange: str,
    routing_key: str,
    content_type: str,
    content_encoding: str,
    correlation_id: str | None,
    delivery_mode: int = 1,
) -> bytes:
    """The frames py-amqp writes for ``basic_publish(amqp.Message(body, content_type=…,
    content_encoding=…, correlation_id=…, delivery_mode=…, priority=0, application_headers={}),
    exchange, routing_key)`` (not mandatory, not immediate); a ``str`` body (kombu's JSON
    serialiser gives one) is encoded in ``content_encoding``, as py-amqp does."""
    if isinstance(body, str):
        body = body.encode(content_encoding)
    flags = CONTENT_TYPE | CONTENT_ENCODING | HEADERS | DELIVERY_MODE | PRIORITY
    properties = [shortstr(content_type), shortstr(content_encoding), b"\x00\x00\x00\x00", bytes((delivery_mode, 0))]
    if correlation_id is not None:
        flags |= CORRELATION_ID
        properties.append(shortstr(correlation_id))
    packed = flags.to_bytes(2, "big") + b"".join(properties)
    return b"".join(
        amqp_frames.publish_frames(channel_id, frame_max, exchange, routing_key, body, packed, mandatory=False)
    )


class _ReadAheadTransport(amqp.transport.TCPTransport):
    """py-amqp's TCP transport, reading what the socket has instead of exactly the bytes asked for."""

    def _read(self, n: int, initial: bool = False, _errnos: tuple[int, ...] = (errno.EAGAIN, errno.EINTR)) -> bytes:
        rbuf: bytes = self._read_buffer  # type: ignore[has-type]  # set by py-amqp's _setup_transport
        if len(rbuf) < n:
            recv = self._quick_recv
            try:
                while len(rbuf) < n:
                    try:
                        s = recv(max(n - len(rbuf), _READ_AHEAD))
                    except OSError as exc:
                        if exc.errno in _errnos:
                            if initial and self.raise_on_initial_eintr:
                                raise TimeoutError() from exc
                            continue
                        raise
                    if not s:
                        raise OSError("Server unexpectedly closed connection")
                    rbuf += s
            except BaseException:  # as py-amqp: keep what was read for the next attempt, whatever ended this one
                self._read_buffer = rbuf
                raise
        result, self._read_buffer = rbuf[:n], rbuf[n:]
        return result


class _Connection(pyamqp.Connection):
    def Transport(  # noqa: N802 - py-amqp's name
        self,
        host: str,
        connect_timeout: Any,
        ssl: Any = False,
        read_timeout: Any = None,
        write_timeout: Any = None,
        socket_settings: Any = None,
        **kwargs: Any,
    ) -> amqp.transport._AbstractTransport:
        if ssl:
            return super().Transport(
                host, connect_timeout, ssl, read_timeout, write_timeout, socket_settings=socket_settings, **kwargs
            )
        return _ReadAheadTransport(
            host,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            socket_settings=socket_settings,
            **kwargs,
        )

    def drain_events(self, timeout: float | None = None) -> None:
        """As py-amqp's (read frames until one completes a method), with the socket's timeout
        set once around the frames instead of around each of them."""
        transport = self.transport
        with transport.having_timeout(timeout):
            while not self.on_inbound_frame(transport.read_frame()):
                pass


class ConsumerTransport(pyamqp.Transport):
    """kombu's py-amqp transport on ``_Connection``: ``kombu.Connection(uri, transport=ConsumerTransport)``."""

    Connection = _Connection
