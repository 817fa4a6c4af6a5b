"""``agenthub up``: the three services and the gateway as child processes.

Each child runs in its own session (so a terminal's Ctrl-C reaches only the
supervisor, which then stops them in order) and is told by the kernel to stop
if the supervisor dies (``PR_SET_PDEATHSIG``), so no process is left behind.
A child that exits on its own is restarted with exponential backoff, up to a
cap (``RestartPolicy``): one crashed service never takes the stack down.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class RestartPolicy:
    """When a child that exits unexpectedly is started again.

    The n-th restart in a row waits ``backoff * 2**(n-1)`` seconds, at most
    ``backoff_max``; after ``max_restarts`` in a row the supervisor gives up on
    that child alone. A child that ran ``stable_after`` seconds starts a new row.
    """

    backoff: float = 1.0
    backoff_max: float = 30.0
    max_restarts: int = 5
    stable_after: float = 60.0

    def delay(self, restarts_so_far: int) -> float:
        return min(self.backoff * 2**restarts_so_far, self.backoff_max)


@dataclass
class Child:
    """One supervised process: a name, its command, and its restart state."""

    name: str  # the instance: "auth", or "auth-2" when several run
    argv: list[str]
    process: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)  # added to the supervisor's own
    started_at: float = 0.0
    restarts: int = 0  # in a row, without a stable run between
    restart_at: float | None = None  # waiting to be started again at this monotonic time
    given_up: bool = False

    def start(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            self.argv, env={**env, **self.env}, start_new_session=True, preexec_fn=_die_with_parent
        )
        self.started_at, self.restart_at = time.monotonic(), None

    @property
    def deployable(self) -> str:
        """``auth`` for ``auth-2``: what the instance runs."""
        return self.name.rsplit("-", 1)[0] if self.name[-1].isdigit() else self.name

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exited(self) -> bool:
        """Ended and not yet handled: neither waiting for a restart nor given up."""
        return (
            self.process is not None
            and self.process.poll() is not None
            and self.restart_at is None
            and not self.given_up
        )

    def signal_group(self, sig: int) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass


def describe_exit(returncode: int) -> str:
    """``exit code 1`` or ``signal SIGSEGV (-11)``: how a child ended, for the log."""
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name} ({returncode})"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


def service_argv(name: str) -> list[str]:
    return [sys.executable, "-m", "agenthub.nameko", "run", "--config", str(CONFIG_PATH), SERVICE_MODULES[name]]


def gateway_argv(host: str, port: int, reuse_port: bool = False) -> list[str]:
    return [
        sys.executable,
        "-m",
        "agenthub",
        "gateway",
        "--host",
        host,
        "--port",
        str(port),
        *(["--reuse-port"] if reuse_port else []),
    ]


def build_children(host: str, port: int, scale: dict[str, int] | None = None) -> list[Child]:
    """``scale[name]`` processes of each deployable (default one), each named by
    ``AGENTHUB_INSTANCE``; several gateways share the port (``SO_REUSEPORT``)."""
    children = []
    for name in (*SERVICE_MODULES, "gateway"):
        count = (scale or {}).get(name, 1)
        for index in range(1, count + 1):
            instance = f"{name}-{index}" if count > 1 else name
            argv = gateway_argv(host, port, reuse_port=count > 1) if name == "gateway" else service_argv(name)
            children.append(Child(instance, argv, env={"AGENTHUB_INSTANCE": instance}))
    return children


def _say(message: str) -> None:
    print(f"agenthub: {message}", file=sys.stderr, flush=True)


class Supervisor:
    """Starts the children, restarts one that exits unexpectedly, stops them all on Ctrl-C or SIGTERM."""

    def __init__(
        self,
        host: str,
        port: int,
        ready_timeout: float = 90.0,
        policy: RestartPolicy | None = None,
        children: list[Child] | None = None,
        scale: dict[str, int] | None = None,
    ) -> None:
        self.host, self.port, self.ready_timeout = host, port, ready_timeout
        self.policy = policy or RestartPolicy()
        self.children = children if children is not None else build_children(host, port, scale)
        self._stopping = False

    def _on_signal(self, signum, _frame) -> None:
        self._stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        self.env = dict(os.environ)
        for child in self.children:
            child.start(self.env)
        code = 0
        started = time.monotonic()
        announced = late = False
        next_ready_check = 0.0
        try:
            while not self._stopping:
                now = time.monotonic()
                for child in self.children:
                    if child.exited():
                        self._on_exit(child, now)
                    elif child.restart_at is not None and now >= child.restart_at:
                        child.start(self.env)
                gateways = [c for c in self.children if c.deployable == "gateway"]
                if gateways and all(c.given_up for c in gateways):
                    _say("stopping: without the gateway nothing can be served")
                    code = 1
                    break
                if not announced and now >= next_ready_check:
                    announced = self._ready()
                    next_ready_check = time.monotonic() + 0.3
                    if announced:
                        url = f"http://{self.host}:{self.port}/graphql"
                        print(
                            f"AgentHub is up: GraphQL at {url}  (GraphiQL there in a browser in development mode)",
                            flush=True,
                        )
                        print("Press Ctrl-C to stop.", flush=True)
                    elif not late and now - started > self.ready_timeout:
                        late = True
                        _say(f"not ready after {self.ready_timeout:.0f} s; still waiting, see the logs above")
                time.sleep(0.2)
        finally:
            self.stop()
        return code

    def _on_exit(self, child: Child, now: float) -> None:
        """One log line per unexpected exit: the restart it schedules, or that it gives up."""
        assert child.process is not None  # it exited, so it was started
        how = describe_exit(child.process.returncode)
        child.signal_group(signal.SIGKILL)  # whatever it started (a model worker) goes with it
        if now - child.started_at >= self.policy.stable_after:
            child.restarts = 0
        if child.restarts >= self.policy.max_restarts:
            child.given_up = True
            _say(
                f"{child.name} exited ({how}); giving up on it after {child.restarts} restarts in a row, "
                f"the other processes keep running"
            )
            return
        delay = self.policy.delay(child.restarts)
        child.restarts += 1
        child.restart_at = now + delay
        _say(f"{child.name} exited ({how}); restart {child.restarts} of {self.policy.max_restarts} in {delay:g} s")

    def _ready(self) -> bool:
        url = f"http://{self.host}:{self.port}/readyz"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except OSError:
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
