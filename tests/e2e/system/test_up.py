"""`agenthub up` end to end: ready, answering, and stopping without leftovers."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psutil
import pytest

from tests.support.stack import ROOT, Isolation, free_port


@pytest.fixture
def own_isolation(tmp_path):
    isolation = Isolation(data_dir=tmp_path / "data").create()
    yield isolation
    isolation.destroy()


def wait_ready(port: int, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else "exited"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise TimeoutError("agenthub up did not become ready")


def test_up_serves_the_health_query_and_stops_cleanly_on_sigint(own_isolation, tmp_path):
    port = free_port()
    log = open(tmp_path / "up.log", "w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "agenthub", "up", "--port", str(port)],
        env=own_isolation.env(),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_ready(port, process)
        deadline = time.monotonic() + 30  # the supervisor's own readiness poll may lag ours
        while "AgentHub is up" not in (tmp_path / "up.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        children = psutil.Process(process.pid).children(recursive=True)
        assert len(children) >= 4  # three services and the gateway

        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/graphql",
            data=json.dumps({"query": "{ health { status services { name status version latencyMs } } }"}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            health = json.loads(response.read())["data"]["health"]
        assert health["status"] == "UP"
        assert sorted(s["name"] for s in health["services"]) == ["agent", "auth", "gateway", "rag"]
        assert all(s["status"] == "UP" for s in health["services"])

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        _gone, alive = psutil.wait_procs(children, timeout=5)
        assert not alive, f"left behind: {[p.pid for p in alive]}"
    finally:
        if process.poll() is None:
            process.kill()
        log.seek(0)
        output = log.read()
        log.close()
    assert "AgentHub is up" in output


def test_up_fails_fast_naming_an_unreachable_broker(own_isolation):
    env = own_isolation.env(AGENTHUB_AMQP_URI="amqp://guest:secret@127.0.0.1:1/")
    result = subprocess.run(
        [sys.executable, "-m", "agenthub", "up", "--port", str(free_port())],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "Cannot reach RabbitMQ at amqp://guest:***@127.0.0.1:1/" in result.stderr
    assert "rabbitmq-server" in result.stderr
    assert "secret" not in result.stderr


def test_up_refuses_default_secrets_in_production(own_isolation):
    env = own_isolation.env(AGENTHUB_ENV="production")
    env.pop("AGENTHUB_JWT_SECRET", None)
    result = subprocess.run(
        [sys.executable, "-m", "agenthub", "up", "--port", str(free_port())],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "AGENTHUB_JWT_SECRET" in result.stderr
