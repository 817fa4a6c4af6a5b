"""Isolated test environments on the machine's real RabbitMQ and Redis.

Each ``Isolation`` owns a RabbitMQ vhost and a Redis key prefix, so test runs
never see each other's messages or keys, nor a stack running beside them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import kombu
import redis

from agenthub.supervisor import CONFIG_PATH

BROKER = os.environ.get("AGENTHUB_TEST_BROKER", "amqp://guest:guest@127.0.0.1:5672")
REDIS_URL = os.environ.get("AGENTHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQCTL = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
ROOT = Path(__file__).resolve().parents[2]


def _rabbitmqctl(*args: str, node: str | None = None) -> None:
    target = ["-n", node] if node else []
    subprocess.run([RABBITMQCTL, "-q", *target, *args], check=True, stdout=subprocess.DEVNULL, timeout=60)


@dataclass
class Isolation:
    """A vhost and a key prefix; on the shared servers unless ``broker``/``node``/``redis_url`` say
    otherwise (``tests.support.servers`` makes private ones).

    The data directory belongs to whoever made it. Given one (pytest's ``tmp_path``, which pytest
    keeps for the last runs so a failed test's service logs can be read), ``destroy`` leaves it.
    Given none, ``create`` makes one under the system's temporary directory, named with
    ``data_prefix``, and ``destroy`` removes it (the benchmarks)."""

    data_dir: Path = None  # type: ignore[assignment]  # None: made by create(), removed by destroy()
    name: str = field(default_factory=lambda: f"agenthub-test-{uuid.uuid4().hex[:10]}")
    broker: str = BROKER
    redis_url: str = REDIS_URL
    node: str | None = None  # the RabbitMQ node rabbitmqctl talks to; None: the shared one
    data_prefix: str = "agenthub-test-"
    owns_data_dir: bool = field(default=False, init=False)

    @property
    def vhost(self) -> str:
        return self.name

    @property
    def amqp_uri(self) -> str:
        return f"{self.broker.rstrip('/')}/{self.vhost}"

    @property
    def redis_prefix(self) -> str:
        return f"{self.name}:"

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "AGENTHUB_ENV": "development",
                "AGENTHUB_AMQP_URI": self.amqp_uri,
                "AGENTHUB_REDIS_URL": self.redis_url,
                "AGENTHUB_REDIS_PREFIX": self.redis_prefix,
                "AGENTHUB_DATA_DIR": str(self.data_dir),
                "PYTHONPATH": str(ROOT),
                "PYTHONWARNINGS": "ignore::DeprecationWarning",
                # Tests register many accounts from one IP and need no slow hashes;
                # the limits and the hashing are tested with their real settings in tests/integration/auth.
                "AGENTHUB_REGISTER_RATE_LIMIT": "10000/minute",
                "AGENTHUB_PASSWORD_TIME_COST": "1",
                "AGENTHUB_PASSWORD_MEMORY_COST": "1024",
                "AGENTHUB_PASSWORD_PARALLELISM": "1",
            }
        )
        env.update(extra)
        return env

    def create(self) -> Isolation:
        _rabbitmqctl("add_vhost", self.vhost, node=self.node)
        _rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*", node=self.node)
        if self.data_dir is None:  # made here, so removed by destroy
            self.data_dir = Path(tempfile.mkdtemp(prefix=self.data_prefix))
            self.owns_data_dir = True
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self

    def destroy(self) -> None:
        """The vhost, the Redis keys and, when this isolation made it, the data directory."""
        try:
            _rabbitmqctl("delete_vhost", self.vhost, node=self.node)
        finally:
            try:
                client = redis.Redis.from_url(self.redis_url)
                keys = list(client.scan_iter(f"{self.redis_prefix}*", count=1000))
                if keys:
                    client.delete(*keys)
                client.close()
            finally:
                if self.owns_data_dir:
                    shutil.rmtree(self.data_dir, ignore_errors=True)


_RUNNING: weakref.WeakSet[ServiceProcess] = weakref.WeakSet()


class ServiceProcess:
    """``nameko run`` of one service module, as ``agenthub up`` runs it.

    One that crashes is started again before the next test (``revive_crashed``,
    called by an autouse fixture), as ``agenthub up`` would: one crash fails the
    test it happened in, not every test after it. ``stop`` means stopped for good.
    """

    def __init__(self, isolation: Isolation, module: str, service: str, **env: str) -> None:
        self.isolation, self.module, self.service, self.extra_env = isolation, module, service, env
        self.log_path = isolation.data_dir / f"{service}-{uuid.uuid4().hex[:6]}.log"
        self._log = open(self.log_path, "wb")
        self.stopped = False
        self._spawn()
        _RUNNING.add(self)

    def _spawn(self) -> None:
        argv = [sys.executable, "-m", "nameko", "run", "--config", str(CONFIG_PATH), self.module]
        self.process = subprocess.Popen(
            argv, env=self.isolation.env(**self.extra_env), cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT
        )

    def revive(self, timeout: float = 180.0) -> str | None:
        """Starts the service again if it ended on its own; returns how it had ended, or None."""
        if self.stopped or self.process.poll() is None:
            return None
        how = f"{self.service} had exited with {self.process.returncode} (log: {self.log_path})"
        self._spawn()
        self.wait_until_consuming(timeout)
        return how

    def wait_until_consuming(self, timeout: float = 60.0) -> ServiceProcess:
        wait_for_consumer(self.isolation, self.service, timeout, process=self.process, log_path=self.log_path)
        return self

    def terminate(self) -> None:
        self.stopped = True
        if self.process.poll() is None:
            self.process.terminate()

    def stop(self) -> None:
        self.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def revive_crashed() -> list[str]:
    """Restarts every test service that crashed and was not stopped; says which and how they ended."""
    return [how for process in list(_RUNNING) if (how := process.revive())]


def terminate_running() -> None:
    """Tells every service process still running to stop, without waiting: those that are stopped
    next then wind down side by side (about a second each) instead of one after another."""
    for process in list(_RUNNING):
        process.terminate()


def stop_all(processes: list[ServiceProcess]) -> None:
    """Stop in parallel: each Nameko service takes about a second to wind down."""
    for process in processes:
        process.terminate()
    for process in processes:
        process.stop()


def consumer_count(isolation: Isolation, service: str) -> int:
    with kombu.Connection(isolation.amqp_uri, connect_timeout=5) as connection:
        channel = connection.channel()
        try:
            _, _, consumers = channel.queue_declare(queue=f"rpc-{service}", passive=True)
        except Exception:  # the queue does not exist yet
            return 0
        return consumers


def wait_for_consumer(
    isolation: Isolation,
    service: str,
    timeout: float = 60.0,
    process: subprocess.Popen | None = None,
    log_path: Path | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            log = log_path.read_text(errors="replace")[-3000:] if log_path else ""
            raise RuntimeError(f"service {service} exited with {process.returncode}:\n{log}")
        if consumer_count(isolation, service) > 0:
            return
        time.sleep(0.2)
    raise TimeoutError(f"service {service} did not start consuming within {timeout} s")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
