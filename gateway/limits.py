"""Limits at the edge: a pure-ASGI middleware that refuses a hostile body before
anything parses, buffers or spools it.

For every HTTP request, GraphQL and REST alike (one mechanism):

* **size**: a JSON (or any non-multipart) body is at most ``max_json_bytes``, a
  multipart body at most ``max_multipart_bytes`` (each file is bounded again by
  ``AGENTHUB_RAG_MAX_FILE_BYTES``). A ``Content-Length`` over the limit is
  answered 413 without reading a byte; without one, the streamed bytes are
  counted and the request is refused as soon as they pass the limit, so memory
  stays flat whatever the client sends;
* **nesting**: a JSON body nested deeper than ``max_json_depth`` is a coded 400,
  never a ``RecursionError`` 500 (checked on the already bounded bytes, in C
  loops: about 30 ms for a megabyte of brackets);
* **uploads need a credential first**: a multipart request is authenticated
  from its headers before its body is read, so an anonymous upload is 401
  ``UNAUTHENTICATED`` with nothing received or spooled.

Refusals are GraphQL-shaped (``{"errors": [{"message", "extensions": {"code"}}]}``)
unless ``shape`` answers for the path (the REST routes keep their own shape).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.auth import credential_from
from gateway.requests import annotate
from schema.errors import AgentHubError, BadUserInput, PayloadTooLarge, Unauthenticated

Shape = Callable[[str, int, AgentHubError], Response | None]

_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
_DEPTH_STEP = [0] * 256
_DEPTH_STEP[ord("[")] = _DEPTH_STEP[ord("{")] = 1
_DEPTH_STEP[ord("]")] = _DEPTH_STEP[ord("}")] = -1
_ESCAPE = re.compile(rb"\\.", re.DOTALL)


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in ``body`` (brackets inside strings do not count)."""
    if b"\\" in body:  # escaped quotes: drop every escape pair first, so each '"' is a real one
        body = _ESCAPE.sub(b"", body)
    # Between the quotes of a string the parity of '"' seen so far is odd: drop those parts.
    parts = body.split(b'"')
    outside = b"".join(parts[0::2]).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_DEPTH_STEP.__getitem__, outside)), default=0)


def graphql_refusal(status: int, error: AgentHubError) -> Response:
    return JSONResponse(
        {"data": None, "errors": [{"message": error.message, "extensions": error.extensions}]}, status_code=status
    )


class _Refused(Exception):
    def __init__(self, status: int, error: AgentHubError) -> None:
        super().__init__(error.message)
        self.status, self.error = status, error


class EdgeLimits:
    """See the module docstring. ``settings`` is a ``GatewaySettings``."""

    def __init__(self, app: ASGIApp, settings: Any, shape: Shape | None = None) -> None:
        self.app = app
        self.json_bytes = settings.max_json_bytes
        self.multipart_bytes = settings.max_multipart_bytes
        self.max_depth = settings.max_json_depth
        self.shape = shape

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        content_type = headers.get("content-type", "").lower()
        multipart = content_type.startswith("multipart/")
        limit = self.multipart_bytes if multipart else self.json_bytes
        try:
            if multipart:  # before anything else, even the size: an anonymous upload learns nothing more
                await _authenticate_upload(scope, headers)
            length = headers.get("content-length")
            if length is not None and (not length.strip().isdigit() or int(length) > limit):
                raise _too_large(limit)
            if multipart:
                receive = _counting(receive, limit)
            elif length != "0" and scope["method"] not in ("GET", "HEAD", "OPTIONS") and "json" in content_type:
                body = await _read_all(receive, limit)
                if self.max_depth and json_depth(body) > self.max_depth:
                    raise _Refused(
                        400,
                        BadUserInput(
                            f"The JSON body is nested deeper than {self.max_depth} levels.",
                            {"reason": "too_deep", "maxDepth": self.max_depth},
                        ),
                    )
                receive = _replay(body, receive)
            else:
                receive = _counting(receive, limit)
        except _Refused as refused:
            await self._refuse(scope, receive, send, refused)
            return
        await self._guarded(scope, receive, send)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; if the streamed count (or a deep structure) stops it before it answered, answer for it."""
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except _Refused as refused:
            if started:
                raise
            await self._refuse(scope, receive, send, refused)
        except RecursionError:  # a structure too deep for a parser that got past the byte check
            if started:
                raise
            await self._refuse(
                scope,
                receive,
                send,
                _Refused(
                    400,
                    BadUserInput(
                        "The request is nested too deeply.", {"reason": "too_deep", "maxDepth": self.max_depth}
                    ),
                ),
            )

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, refused: _Refused) -> None:
        annotate(outcome=refused.error.code)
        response = self.shape(scope.get("path", ""), refused.status, refused.error) if self.shape else None
        response = response or graphql_refusal(refused.status, refused.error)
        # The rest of an oversized body is not read: the server closes the connection after answering.
        response.headers["connection"] = "close"
        await response(scope, receive, send)


def _too_large(limit: int) -> _Refused:
    return _Refused(413, PayloadTooLarge(f"The request body is larger than {limit} bytes.", {"limit": limit}))


async def _read_all(receive: Receive, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # http.disconnect, when the client goes

    return replay


def _counting(receive: Receive, limit: int) -> Receive:
    received = 0

    async def counting() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _too_large(limit)
        return message

    return counting


async def _authenticate_upload(scope: Scope, headers: Headers) -> None:
    """Multipart requests carry files: only a valid credential gets its body read."""
    edge = scope["app"].state.edge
    try:
        credential = credential_from(headers)
        if credential is None:
            raise Unauthenticated("Sign in to upload files.", {"reason": "missing"})
        await edge.authenticate(credential)
    except AgentHubError as exc:
        raise _Refused(401 if isinstance(exc, Unauthenticated) else 503, exc) from None
