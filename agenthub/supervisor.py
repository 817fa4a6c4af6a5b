"""``agenthub up``: the three services and the gateway as child processes.

Each child runs in its own session (so a terminal's Ctrl-C reaches only the
supervisor, which then stops them in order) and is told by the kernel to stop
if the supervisor dies (``PR_SET_PDEATHSIG``), so no process is left behind.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import services

SERVICE_MODULES = {
    "auth": "services.auth.service",
    "agent": "services.agent.service",
    "rag": "services.rag.service",
}
CONFIG_PATH = Path(services.__file__).parent / "config.yaml"
STOP_GRACE_SECONDS = 10.0


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM when the supervisor dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux: the supervisor's own shutdown still stops children
        pass


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = None

    def start(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(self.argv, env=env, start_new_session=True, preexec_fn=_die_with_parent)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal_group(self, sig: int) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass


def service_argv(name: str) -> list[str]:
    return [sys.executable, "-m", "agenthub.nameko", "run", "--config", str(CONFIG_PATH), SERVICE_MODULES[name]]


def gateway_argv(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "agenthub", "gateway", "--host", host, "--port", str(port)]


class Supervisor:
    def __init__(self, host: str, port: int, ready_timeout: float = 90.0) -> None:
        self.host, self.port, self.ready_timeout = host, port, ready_timeout
        self.children = [Child(name, service_argv(name)) for name in SERVICE_MODULES]
        self.children.append(Child("gateway", gateway_argv(host, port)))
        self._stopping = False

    def _on_signal(self, signum, _frame) -> None:
        self._stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        env = dict(os.environ)
        for child in self.children:
            child.start(env)
        code = 0
        try:
            ready = self._wait_until_ready()
            if ready:
                url = f"http://{self.host}:{self.port}/graphql"
                print(f"AgentHub is up: GraphQL at {url}  (GraphiQL there in a browser in development mode)",
                      flush=True)
                print("Press Ctrl-C to stop.", flush=True)
            while not self._stopping:
                dead = [c for c in self.children if not c.running()]
                if dead:
                    names = ", ".join(f"{c.name} (exit {c.process.returncode})" for c in dead)
                    print(f"agenthub: stopping, a process ended: {names}", file=sys.stderr, flush=True)
                    code = 1
                    break
                time.sleep(0.2)
        finally:
            self.stop()
        return code

    def _wait_until_ready(self) -> bool:
        deadline = time.monotonic() + self.ready_timeout
        url = f"http://{self.host}:{self.port}/readyz"
        while time.monotonic() < deadline and not self._stopping:
            if any(not c.running() for c in self.children):
                return False
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.3)
        if not self._stopping:
            print(f"agenthub: not ready after {self.ready_timeout:.0f} s; see the logs above", file=sys.stderr)
        return False

    def stop(self) -> None:
        """SIGTERM every child's process group, then SIGKILL what is left after the grace period."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for child in self.children:
            if child.running():
                child.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while time.monotonic() < deadline and any(c.running() for c in self.children):
            time.sleep(0.1)
        for child in self.children:
            child.signal_group(signal.SIGKILL)  # also reaps anything a child left in its group
            if child.process is not None:
                try:
                    child.process.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    pass
        print("agenthub: stopped", flush=True)
