"""A scripted OpenAI-compatible chat server: the only test double of the agent's tests.

It speaks ``POST /v1/chat/completions`` with and without ``stream: true``
(server-sent events, tool-call deltas, a final usage chunk), so the real
Haystack generator and the real openai client run against it.

A script is chosen by a marker the test puts in the user's message, and the
turn within it by how many assistant messages follow that user message, so
runs in parallel never take each other's turns::

    llm.script("marker-1", [ToolCalls([("search_documents", {"query": "x"})]), Text(["Hello", " world"])])
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ToolCalls:
    calls: list[tuple[str, dict[str, Any]]]


@dataclass
class Text:
    pieces: list[str]
    delay: float = 0.0  # seconds between pieces
    first_delay: float = 0.0


@dataclass
class Fail:
    status: int = 500
    message: str = "scripted failure"


@dataclass
class Garbage:
    """A 200 reply that is not a completion at all."""


@dataclass
class Request:
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    def tool_results(self) -> list[str]:
        return [m.get("content") or "" for m in self.messages if m.get("role") == "tool"]


class ScriptedLLM:
    def __init__(self) -> None:
        self.scripts: dict[str, list[Any]] = {}
        self.requests: list[Request] = []
        self.emitted: dict[str, list[float]] = {}  # marker -> monotonic time of each TOKEN piece sent
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> ScriptedLLM:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, marker: str, turns: list[Any]) -> None:
        self.scripts[marker] = turns

    def requests_for(self, marker: str) -> list[Request]:
        return [r for r in self.requests if marker in _last_user(r.body)]

    # -- the HTTP side ------------------------------------------------------

    def _turn(self, body: dict[str, Any]) -> tuple[str, Any]:
        user = _last_user(body)
        for marker, turns in self.scripts.items():
            if marker in user:
                messages = body.get("messages", [])
                last_user = max(i for i, m in enumerate(messages) if m.get("role") == "user")
                index = sum(1 for m in messages[last_user:] if m.get("role") == "assistant")
                return marker, turns[min(index, len(turns) - 1)]
        return "", Text(["(no script for this message)"])

    def _handler(self):
        llm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                llm.requests.append(Request(body))
                marker, turn = llm._turn(body)
                if isinstance(turn, Fail):
                    return self._json(turn.status, {"error": {"message": turn.message, "type": "server_error"}})
                if isinstance(turn, Garbage):
                    return self._json(200, {"unexpected": True})
                if body.get("stream"):
                    return self._stream(marker, turn, body)
                return self._json(200, _completion(turn, body))

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, marker: str, turn: Any, body: dict[str, Any]) -> None:
                """Server-sent events in chunked encoding, so the connection stays open for the next call."""
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()

                def send(data: bytes) -> None:
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()

                try:
                    for chunk in _chunks(turn, body, llm.emitted.setdefault(marker, [])):
                        send(f"data: {json.dumps(chunk)}\n\n".encode())
                    send(b"data: [DONE]\n\n")
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):  # the client went away (cancel)
                    self.close_connection = True

        return Handler


def _last_user(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def _base(body: dict[str, Any]) -> dict[str, Any]:
    return {"id": "chatcmpl-scripted", "created": int(time.time()), "model": body.get("model", "scripted")}


def _usage(body: dict[str, Any], completion_tokens: int) -> dict[str, int]:
    prompt = sum(len(str(m.get("content") or "")) for m in body.get("messages", [])) // 4
    return {"prompt_tokens": prompt, "completion_tokens": completion_tokens, "total_tokens": prompt + completion_tokens}


def _completion(turn: Any, body: dict[str, Any]) -> dict[str, Any]:
    if isinstance(turn, ToolCalls):
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
                for i, (name, args) in enumerate(turn.calls)
            ],
        }
        finish, tokens = "tool_calls", 10
    else:
        message = {"role": "assistant", "content": "".join(turn.pieces)}
        finish, tokens = "stop", len(turn.pieces)
    return {
        **_base(body),
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": _usage(body, tokens),
    }


def _chunks(turn: Any, body: dict[str, Any], emitted: list[float]):
    base = {**_base(body), "object": "chat.completion.chunk"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    if isinstance(turn, ToolCalls):
        yield chunk({"role": "assistant", "content": None})
        for i, (name, args) in enumerate(turn.calls):
            yield chunk(
                {
                    "tool_calls": [
                        {"index": i, "id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": ""}}
                    ]
                }
            )
            yield chunk({"tool_calls": [{"index": i, "function": {"arguments": json.dumps(args)}}]})
        yield chunk({}, "tool_calls")
        tokens = 10
    else:
        yield chunk({"role": "assistant", "content": ""})
        if turn.first_delay:
            time.sleep(turn.first_delay)
        for i, piece in enumerate(turn.pieces):
            if i and turn.delay:
                time.sleep(turn.delay)
            emitted.append(time.monotonic())
            yield chunk({"content": piece})
        yield chunk({}, "stop")
        tokens = len(turn.pieces)
    if (body.get("stream_options") or {}).get("include_usage"):
        yield {**base, "choices": [], "usage": _usage(body, tokens)}
