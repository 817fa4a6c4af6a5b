"""Issue 11, item 1: limits at the edge, against a real gateway process.

The hostile bodies are sent over raw sockets so the test controls exactly what
the server has received when it answers. The gateway's memory is read from
/proc while a 150 MB body is sent, and other clients' calls run meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid

import httpx
import pytest

from core.tokens import TokenCodec
from gateway.limits import json_depth
from gateway.rpc import RpcClient
from gateway.settings import GatewaySettings
from schema.errors import PayloadTooLarge
from tests.support.gateway import GatewayProcess

MB = 1024 * 1024
LOGIN = 'mutation($p: String!) { login(input: {username: "x", password: $p}) { accessToken } }'


@pytest.fixture(scope="module")
def edge(isolation):
    """A gateway alone: every refusal here happens before any service is asked."""
    gateway = GatewayProcess(
        isolation, AGENTHUB_RATE_LIMIT_ANONYMOUS="100000/minute", AGENTHUB_RATE_LIMIT_AUTHENTICATED="100000/minute"
    )
    try:
        yield gateway.wait_ready(timeout=180, path="/healthz")
    finally:
        gateway.stop()


@pytest.fixture(scope="module")
def token():
    settings = GatewaySettings(env="development")
    return (
        TokenCodec(settings)
        .issue(subject=str(uuid.uuid4()), role="user", username="uploader", session_id=uuid.uuid4().hex)
        .token
    )


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def raw_request(gateway: GatewayProcess, head: str, body_chunks, *, read_timeout: float = 30) -> tuple[int, dict, int]:
    """Send ``head`` then chunks until the server answers; (status, JSON body, bytes of body sent)."""
    sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=read_timeout)
    sent = 0
    try:
        sock.sendall(head.encode())
        sock.setblocking(False)
        received = b""
        for chunk in body_chunks:
            try:
                received += sock.recv(65536)
            except BlockingIOError:
                pass
            except (ConnectionResetError, BrokenPipeError):
                break
            if received:
                break
            try:
                sock.sendall(chunk)
            except BlockingIOError:
                time.sleep(0.001)
            except (ConnectionResetError, BrokenPipeError):
                break
            else:
                sent += len(chunk)
        sock.setblocking(True)
        sock.settimeout(read_timeout)
        while b"\r\n\r\n" not in received or not _complete(received):
            data = sock.recv(65536)
            if not data:
                break
            received += data
    finally:
        sock.close()
    head_bytes, _, payload = received.partition(b"\r\n\r\n")
    status = int(head_bytes.split()[1])
    return status, json.loads(payload or b"{}"), sent


def _complete(received: bytes) -> bool:
    head, _, payload = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(payload) >= int(line.split(b":")[1])
    return False


def _head(gateway, path: str, content_type: str, length: int | None, extra: str = "") -> str:
    size = f"content-length: {length}\r\n" if length is not None else "transfer-encoding: chunked\r\n"
    return (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{gateway.port}\r\ncontent-type: {content_type}\r\n{size}{extra}\r\n"
    )


def chunked(total: int, size: int = 256 * 1024):
    piece = f"{size:x}\r\n".encode() + b" " * size + b"\r\n"
    for _ in range(total // size):
        yield piece


def plain(total: int, size: int = 256 * 1024):
    prefix = b'{"query": "' + LOGIN.encode().replace(b'"', b'\\"') + b'", "variables": {"p": "'
    yield prefix
    for _ in range(total // size):
        yield b"x" * size


def test_a_body_over_the_declared_limit_is_413_before_a_byte_is_read(edge):
    status, body, sent = raw_request(edge, _head(edge, "/graphql", "application/json", 150 * MB), plain(150 * MB))
    assert status == 413
    assert body["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert body["errors"][0]["extensions"]["limit"] == MB
    assert sent < 20 * MB  # the answer came while the client was still sending


def test_a_streamed_body_is_cut_at_the_limit_with_flat_memory_and_other_clients_unaffected(edge):
    """The issue's attack: 150 MB through an anonymous login while 600 health calls run beside it."""
    before = rss_mb(edge.process.pid)
    peak = before
    stop = threading.Event()

    def watch():
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, rss_mb(edge.process.pid))
            time.sleep(0.02)

    async def others() -> list[int]:
        async with httpx.AsyncClient(base_url=edge.url, timeout=60, limits=httpx.Limits(max_connections=20)) as client:

            async def one() -> int:
                response = await client.post("/graphql", json={"query": "{ health { status } }"})
                ok = response.status_code == 200 and "errors" not in response.json()
                return 0 if ok else 1

            return await asyncio.gather(*(one() for _ in range(600)))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    failures: list[int] = []
    concurrent = threading.Thread(target=lambda: failures.extend(asyncio.run(others())))
    concurrent.start()
    try:
        status, body, sent = raw_request(edge, _head(edge, "/graphql", "application/json", None), chunked(150 * MB))
        concurrent.join(timeout=120)
    finally:
        stop.set()
        watcher.join()
    print(
        f"gateway RSS {before:.0f} MB → peak {peak:.0f} MB; body bytes sent before the answer: {sent}; "
        f"health failures {sum(failures)}/{len(failures)}"
    )
    assert status == 413 and body["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE", body
    assert peak - before < 40, (before, peak)
    assert len(failures) == 600 and sum(failures) == 0


def test_a_deeply_nested_body_is_a_coded_400_not_a_500(edge):
    deep = '{"query": "{ health { status } }", "variables": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    response = httpx.post(f"{edge.url}/graphql", content=deep, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "reason": "too_deep",
        "maxDepth": 64,
    }
    rest = httpx.post(
        f"{edge.url}/auth/login",
        content='{"username": ' + "[" * 100_000 + "]" * 100_000 + "}",
        headers={"content-type": "application/json"},
    )
    assert rest.status_code == 400 and "nested deeper" in rest.json()["message"]


def test_json_depth_ignores_brackets_inside_strings():
    assert json_depth(b'{"a": "[[[[{{{{", "b": [1, [2]]}') == 3
    assert json_depth(b'{"a": "\\"[[[[", "b": {}}') == 2
    assert json_depth(b'"plain"') == 0


def test_an_anonymous_upload_is_refused_before_its_body_is_read(edge):
    head = _head(edge, "/graphql", "multipart/form-data; boundary=x", 1024 * MB, "graphql-preflight: 1\r\n")
    status, body, sent = raw_request(edge, head, plain(1024 * MB))
    assert status == 401 and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert sent < 20 * MB
    head = _head(
        edge,
        "/graphql",
        "multipart/form-data; boundary=x",
        10 * MB,
        "graphql-preflight: 1\r\nauthorization: Bearer not-a-token\r\n",
    )
    status, body, _ = raw_request(edge, head, plain(10 * MB))
    assert status == 401 and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    status, body, _ = raw_request(
        edge, _head(edge, "/api/rag/upload", "multipart/form-data; boundary=x", 10 * MB), plain(10 * MB)
    )
    assert status == 401 and body == {"message": "Token is missing!"}


def test_a_signed_in_upload_over_the_request_limit_is_413(edge, token, stack):  # auth answers for the token
    head = _head(
        edge,
        "/graphql",
        "multipart/form-data; boundary=x",
        101 * MB,
        f"graphql-preflight: 1\r\nauthorization: Bearer {token}\r\n",
    )
    status, body, _ = raw_request(edge, head, plain(101 * MB))
    assert status == 413 and body["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE", body


def test_the_rpc_client_refuses_an_oversized_message_locally_and_keeps_its_connection(isolation, echo_service):
    async def scenario():
        client = RpcClient(isolation.amqp_uri, default_timeout=10, max_message_bytes=2 * MB)
        await client.start()
        try:
            with pytest.raises(PayloadTooLarge):
                await client.call("echo", "echo", ["x" * (3 * MB)])
            results = await asyncio.gather(*(client.call("echo", "echo", [i]) for i in range(50)))
            assert client.reconnects == 0
            return results
        finally:
            await client.close()

    assert asyncio.run(scenario()) == list(range(50))
