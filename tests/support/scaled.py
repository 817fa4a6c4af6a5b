"""``agenthub up --scale …`` as a real process tree on its own isolation, for tests and benchmarks."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from agenthub.scale import parse_scale
from tests.support.stack import ROOT, Isolation, consumer_count, free_port

INSTANCE_HEADER = "x-agenthub-instance"


class ScaledStack:
    """The supervisor and its children; ``instances(name)`` finds one deployable's processes."""

    def __init__(self, isolation: Isolation, scale: str, log_path: Path, **env: str) -> None:
        self.isolation, self.scale, self.counts = isolation, scale, parse_scale(scale)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agenthub", "up", "--port", str(self.port), "--scale", scale],
            env=isolation.env(**env),
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 300.0) -> ScaledStack:
        """Until every instance runs: each service has its count of consumers, and fresh
        connections to the port have reached every gateway instance."""
        deadline = time.monotonic() + timeout
        services = ["auth", "agent", "rag"]
        gateways: set[str] = set()
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"agenthub up exited:\n{self.log()[-4000:]}"
            if all(consumer_count(self.isolation, s) >= self.counts[s] for s in services):
                try:
                    with httpx.Client(timeout=5) as client:  # a new connection each: the kernel picks
                        response = client.get(f"{self.url}/readyz", headers={"connection": "close"})
                    if response.status_code == 200:
                        gateways.add(response.headers[INSTANCE_HEADER])
                except httpx.HTTPError:
                    pass
                if len(gateways) >= self.counts["gateway"]:
                    return self
            time.sleep(0.3)
        raise TimeoutError(
            f"--scale {self.scale} not ready in {timeout:.0f} s (gateways seen: {sorted(gateways)})"
            f"\n{self.log()[-4000:]}"
        )

    def instances(self, name: str) -> dict[str, psutil.Process]:
        """``{"auth-1": process, …}``: the supervisor's children whose AGENTHUB_INSTANCE names ``name``."""
        found = {}
        for child in psutil.Process(self.process.pid).children():
            try:
                instance = child.environ().get("AGENTHUB_INSTANCE", "")
            except psutil.Error:
                continue
            if instance.rsplit("-", 1)[0] == name:
                found[instance] = child
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
