"""``agenthub probe``: the health check of containers and pods, against real services."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.stack import ROOT, free_port


def probe(isolation, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agenthub", "probe", *args],
        env=isolation.env(**env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("service", ["auth", "agent", "rag"])
def test_a_running_service_is_live_and_ready(isolation, stack, service):
    live = probe(isolation, service)
    assert live.returncode == 0, live.stdout + live.stderr
    assert "connected to the broker" in live.stdout
    ready = probe(isolation, service, "--ready")
    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert f"{service} " in ready.stdout and "answers UP" in ready.stdout


def test_not_connected_to_the_configured_broker_is_not_live(isolation, stack):
    result = probe(isolation, "auth", AGENTHUB_AMQP_URI="amqp://guest:guest@127.0.0.1:5999/")
    assert result.returncode == 1
    assert "no established connection to the broker (port 5999)" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_gateway_probe_follows_healthz_and_readyz(isolation, stack):
    gateway = GatewayProcess(isolation, AGENTHUB_INSTANCE="gateway-7").wait_ready()
    try:
        assert httpx.get(f"{gateway.url}/healthz").headers["x-agenthub-instance"] == "gateway-7"
        for args in (["gateway"], ["gateway", "--ready"]):
            result = probe(isolation, *args, AGENTHUB_PORT=str(gateway.port))
            assert result.returncode == 0, result.stdout
    finally:
        gateway.stop()
    result = probe(isolation, "gateway", AGENTHUB_PORT=str(free_port()))
    assert result.returncode == 1 and "Connection refused" in result.stdout
