"""Fault injection: each module runs one ``agenthub up`` on its own RabbitMQ node and Redis.

The tests break those private servers and processes on purpose; the shared
ones are never touched. Each test prints what clients saw and how long the
stack took to recover (``-s`` shows it; ``-rA`` keeps it in the summary).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import httpx
import pytest

from tests.support.servers import RabbitNode, RedisServer, Stack, private_isolation, wait_until

# Fast restarts and short job leases, so a killed process or job is retried within seconds.
FAULT_ENV = {
    "AGENTHUB_RESTART_BACKOFF": "0.5",
    "AGENTHUB_RESTART_BACKOFF_MAX": "4",
    "AGENTHUB_RAG_JOB_LEASE_SECONDS": "6",
    "AGENTHUB_RPC_TIMEOUT": "10",
    "AGENTHUB_LLM_BACKEND": "none",
    "AGENTHUB_RATE_LIMIT_AUTHENTICATED": "1000000/minute",
    "AGENTHUB_RATE_LIMIT_ANONYMOUS": "1000000/minute",
}
PASSWORD = "fault test passphrase"


def pytest_collection_modifyitems(items):
    skip = RabbitNode.available()
    for item in items:
        if "tests/e2e/faults/" in str(item.fspath).replace("\\", "/") and skip:
            item.add_marker(pytest.mark.skip(reason=skip))


@dataclass
class Servers:
    rabbit: RabbitNode
    redis: RedisServer
    stack: Stack
    report: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.stack.url


def start_servers(tmp_path_factory, **env: str):
    """A private node, Redis and stack; a generator for module fixtures (stops all at the end)."""
    base = tmp_path_factory.mktemp("faults")
    rabbit = RabbitNode().start()
    redis_server = RedisServer(base / "redis")
    stack = None
    try:
        redis_server.start()
        isolation = private_isolation(base / "data", rabbit, redis_server)
        stack = Stack(isolation, **{**FAULT_ENV, **env}).start()
        servers = Servers(rabbit, redis_server, stack)
        yield servers
        for line in servers.report:
            print(line)
    finally:
        if stack is not None:
            stack.stop()
        redis_server.__exit__(None, None, None)
        rabbit.stop()


class Client:
    """A GraphQL client of the private stack that records every outcome it sees."""

    def __init__(self, url: str, timeout: float = 30) -> None:
        self.http = httpx.Client(base_url=url, timeout=timeout)
        self.token: str | None = None

    def gql(self, query: str, variables: dict | None = None) -> tuple[int, dict]:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, {"raw": response.text[:200]}

    def data(self, query: str, variables: dict | None = None) -> dict:
        status, body = self.gql(query, variables)
        assert status == 200 and not body.get("errors"), (status, body)
        return body["data"]

    def sign_up(self) -> Client:
        """A new account, signed in."""
        self.username = f"fault_{uuid.uuid4().hex[:10]}"
        self.token = None
        self.data(
            "mutation($u: String!, $p: String!) { register(input: {username: $u, password: $p}) { id } }",
            {"u": self.username, "p": PASSWORD},
        )
        return self.sign_in()

    def sign_in(self) -> Client:
        """A new token for the same account."""
        self.token = None
        self.token = self.data(
            "mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { accessToken } }",
            {"u": self.username, "p": PASSWORD},
        )["login"]["accessToken"]
        return self

    def close(self) -> None:
        self.http.close()


def outcome(status: int, body: dict) -> str:
    """One word for what a client saw: ok, an error code, or the HTTP status."""
    if status != 200:
        return f"HTTP {status}"
    errors = body.get("errors")
    if not errors:
        return "ok"
    return (errors[0].get("extensions") or {}).get("code") or "NO_CODE"


def wait_for_ok(client: Client, query: str, timeout: float, variables: dict | None = None) -> float:
    """Seconds until ``query`` succeeds again."""
    started = time.monotonic()
    wait_until(
        lambda: outcome(*client.gql(query, variables)) == "ok", timeout, f"{query!r} succeeding again", interval=0.5
    )
    return time.monotonic() - started
