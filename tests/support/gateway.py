"""A gateway app wired to a test isolation, and small GraphQL helpers."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import httpx

from gateway.settings import GatewaySettings
from tests.support.stack import ROOT, Isolation, free_port


def gateway_settings(isolation: Isolation, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = dict(
        env="development",
        amqp_uri=isolation.amqp_uri,
        redis_url=isolation.redis_url,
        redis_prefix=isolation.redis_prefix,
        data_dir=isolation.data_dir,
    )
    values.update(overrides)
    return GatewaySettings(**values)


def gql(
    client, query: str, variables: dict | None = None, token: str | None = None, headers: dict | None = None
) -> dict:
    all_headers = dict(headers or {})
    if token:
        all_headers["authorization"] = f"Bearer {token}"
    response = client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers)
    assert response.status_code == 200, response.text
    return response.json()


def error_code(body: dict) -> str | None:
    errors = body.get("errors") or []
    return errors[0].get("extensions", {}).get("code") if errors else None


class GatewayProcess:
    """``agenthub gateway`` as a real process on a free port, for clients that need a socket."""

    def __init__(self, isolation: Isolation, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = isolation.data_dir / f"gateway-{self.port}.log"  # read it when a test fails
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "agenthub", "gateway", "--port", str(self.port)],
                env=isolation.env(**env),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 60, path: str = "/readyz") -> GatewayProcess:
        """Until ``path`` answers 200: ``/healthz`` for a gateway started without services."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the gateway exited"
            try:
                if httpx.get(f"{self.url}{path}", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError("the gateway did not become ready")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)
