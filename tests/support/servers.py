"""Private RabbitMQ, Redis and ``agenthub up`` for tests that break things.

The shared RabbitMQ and Redis must never be stopped (other test runs and
engineers use them), so a test that stops a broker or Redis starts its own
here. Usage::

    with RabbitNode() as rabbit, RedisServer(tmp_path / "redis") as redis_server:
        isolation = private_isolation(tmp_path / "data", rabbit, redis_server)
        with Stack(isolation) as stack:          # ``agenthub up`` on them, ready
            stack.kill("rag")                    # SIGKILL one child; the supervisor restarts it
            rabbit.stop_app(); rabbit.start_app()  # the broker down and back, same queues
            redis_server.restart(keep_data=False)  # Redis down and back empty

Every wait here is a wait-for-condition with a bound; nothing sleeps blind.
A RabbitMQ node needs root (its files belong to the ``rabbitmq`` user):
``RabbitNode.available()`` says whether this machine can run one.
"""

from __future__ import annotations

import array
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import psutil
import redis

from tests.support.stack import RABBITMQCTL, ROOT, Isolation, free_port

if TYPE_CHECKING:
    import trustme

RABBITMQ_SERVER = shutil.which("rabbitmq-server") or "/usr/sbin/rabbitmq-server"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def wait_until(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.2):
    """Polls ``condition`` until it returns something truthy (returned); TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g} s")
        time.sleep(interval)


def pending_stdin(pid: int) -> int:
    """Bytes written to process ``pid``'s stdin pipe and not read yet (Linux): lets a test see that a
    frozen (SIGSTOP) process has been handed its work before it crashes it."""
    fd = os.open(f"/proc/{pid}/fd/0", os.O_RDONLY | os.O_NONBLOCK)
    try:
        count = array.array("i", [0])
        fcntl.ioctl(fd, termios.FIONREAD, count)
        return count[0]
    finally:
        os.close(fd)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class RabbitNode:
    """A RabbitMQ node of its own: own port, node name, config, mnesia and log dirs.

    ``/etc/rabbitmq/rabbitmq.conf`` pins the shared listener, so the port is set
    through the node's own ``RABBITMQ_CONFIG_FILE``. Queues, messages and users
    survive ``stop_app``/``start_app`` (the broker down and up); ``stop`` ends it.
    """

    def __init__(self, tls: trustme.CA | None = None) -> None:
        """``tls``: the node listens for TLS only, with a server certificate from this CA, and
        requires a client certificate from it too."""
        # Under /tmp itself: the rabbitmq user must reach it (pytest's tmp_path is root-only).
        self.base = Path(tempfile.mkdtemp(prefix="agenthub-rabbit-", dir="/tmp"))
        self.port, self.dist_port = free_port(), free_port()
        self.node = f"agenthub-{uuid.uuid4().hex[:8]}@localhost"
        self.tls = tls

    @staticmethod
    def available() -> str | None:
        """None when a private node can run here, else why not."""
        if not os.path.exists(RABBITMQ_SERVER):
            return "rabbitmq-server is not installed"
        if os.geteuid() != 0:
            return "a private RabbitMQ node needs root (its files belong to the rabbitmq user)"
        return None

    @property
    def amqp_uri(self) -> str:
        """The node's default vhost; ``private_isolation`` adds a vhost of its own."""
        return f"{'amqps' if self.tls else 'amqp'}://guest:guest@127.0.0.1:{self.port}/"

    def _config(self) -> str:
        if self.tls is None:
            return f"listeners.tcp.local = 127.0.0.1:{self.port}\n"
        self.tls.cert_pem.write_to_path(self.base / "ca.pem")
        server = self.tls.issue_cert("127.0.0.1", "localhost")
        server.private_key_and_cert_chain_pem.write_to_path(self.base / "server.pem")
        return (
            "listeners.tcp = none\n"
            f"listeners.ssl.default = 127.0.0.1:{self.port}\n"
            f"ssl_options.cacertfile = {self.base / 'ca.pem'}\n"
            f"ssl_options.certfile = {self.base / 'server.pem'}\n"
            f"ssl_options.keyfile = {self.base / 'server.pem'}\n"
            "ssl_options.verify = verify_peer\n"
            "ssl_options.fail_if_no_peer_cert = true\n"
        )

    def ctl(self, *args: str, timeout: float = 120) -> None:
        subprocess.run(
            [RABBITMQCTL, "-q", "-n", self.node, *args],
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd="/tmp",
        )

    def start(self, timeout: float = 180) -> RabbitNode:
        for sub in ("mnesia", "log"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        (self.base / "rabbitmq.conf").write_text(self._config())
        (self.base / "enabled_plugins").write_text("[].\n")
        shutil.chown(self.base, "rabbitmq", "rabbitmq")
        for path in self.base.rglob("*"):
            shutil.chown(path, "rabbitmq", "rabbitmq")
        self.base.chmod(0o755)
        env = dict(
            os.environ,
            RABBITMQ_CONFIG_FILE=str(self.base / "rabbitmq.conf"),
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=str(self.base / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.base / "log"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.base / "enabled_plugins"),
            RABBITMQ_PID_FILE=str(self.base / "node.pid"),
        )
        subprocess.run([RABBITMQ_SERVER, "-detached"], env=env, check=True, timeout=60, cwd="/tmp")
        try:
            wait_until(
                self._booted, timeout, f"RabbitMQ node {self.node} booted (logs: {self.base / 'log'})", interval=1
            )
            wait_until(lambda: port_open(self.port), 30, f"RabbitMQ node {self.node} listening on {self.port}")
        except BaseException:  # never leave a half-started node behind
            self.stop()
            raise
        return self

    def _booted(self) -> bool:
        """``await_startup`` fails at once (69) until the node has registered with epmd."""
        try:
            self.ctl("await_startup", "--timeout", "30", timeout=45)
            return True
        except subprocess.CalledProcessError:
            return False

    def stop_app(self) -> None:
        """The broker goes down (every connection drops); the node stays, so ``start_app`` is quick."""
        self.ctl("stop_app")
        wait_until(lambda: not port_open(self.port), 30, "the broker's listener closing")

    def start_app(self) -> None:
        self.ctl("start_app")
        wait_until(lambda: port_open(self.port), 60, "the broker's listener opening")

    def stop(self) -> None:
        """Halts the node and removes its files; killed if it does not halt."""
        try:
            self.ctl("stop", timeout=60)
        except (subprocess.SubprocessError, OSError):
            pid_file = self.base / "node.pid"
            if pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
                except (ValueError, ProcessLookupError):
                    pass
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> RabbitNode:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class RedisServer:
    """A Redis server of its own on a free port; ``restart`` keeps or drops its data."""

    def __init__(self, base: Path) -> None:
        self.base = Path(base)
        self.port = free_port()
        self.pid: int | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=5)

    def start(self, timeout: float = 30) -> RedisServer:
        self.base.mkdir(parents=True, exist_ok=True)
        pid_file = self.base / "redis.pid"
        pid_file.unlink(missing_ok=True)
        subprocess.run(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.base),
                "--logfile",
                str(self.base / "redis.log"),
                "--daemonize",
                "yes",
                "--pidfile",
                str(pid_file),
            ],
            check=True,
            timeout=30,
        )
        wait_until(self._pings, timeout, f"Redis on port {self.port}")
        self.pid = int(wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), 5, "Redis pid file"))
        return self

    def _pings(self) -> bool:
        client = self.client()
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self, keep_data: bool = True) -> None:
        """Shuts down; with ``keep_data`` the data is saved and the next ``start`` loads it."""
        client = self.client()
        try:
            client.shutdown(save=keep_data, nosave=not keep_data)
        except redis.ConnectionError:  # redis-py reports the server closing the connection
            pass
        finally:
            client.close()
        if self.pid is not None:
            wait_until(lambda: not psutil.pid_exists(self.pid), 30, "Redis exiting")
        if not keep_data:
            (self.base / "dump.rdb").unlink(missing_ok=True)

    def restart(self, keep_data: bool = True) -> None:
        self.stop(keep_data=keep_data)
        self.start()

    def kill(self) -> None:
        if self.pid is not None and psutil.pid_exists(self.pid):
            os.kill(self.pid, signal.SIGKILL)
            wait_until(lambda: not psutil.pid_exists(self.pid), 10, "Redis exiting")

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections (the kernel's backlog) but nothing answers,
        the way a swapped-out or wedged Redis behaves; harder on clients than a refused connection."""
        assert self.pid is not None
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.pid is not None
        os.kill(self.pid, signal.SIGCONT)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        try:
            self.stop(keep_data=False)
        except (redis.RedisError, TimeoutError):
            self.kill()
        shutil.rmtree(self.base, ignore_errors=True)


def private_isolation(data_dir: Path, rabbit: RabbitNode, redis_server: RedisServer) -> Isolation:
    """An ``Isolation`` (vhost, key prefix, env) on a private node and Redis, created."""
    return Isolation(
        data_dir=Path(data_dir), broker=rabbit.amqp_uri, redis_url=redis_server.url, node=rabbit.node
    ).create()


CHILD_MARKERS = {
    "auth": "services.auth.service",
    "agent": "services.agent.service",
    "rag": "services.rag.service",
    "gateway": "gateway",
}


class Stack:
    """``agenthub up`` on an isolation, on a free port, its output in ``log_path``.

    ``env`` adds or overrides variables (for example faster restarts:
    ``AGENTHUB_RESTART_BACKOFF="0.5"``).
    """

    def __init__(self, isolation: Isolation, **env: str) -> None:
        self.isolation = isolation
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = isolation.data_dir / f"up-{self.port}.log"
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 300) -> Stack:
        self.isolation.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agenthub", "up", "--port", str(self.port)],
            env=self.isolation.env(**self.env),
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.wait_ready(timeout)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def readyz(self) -> tuple[int, dict]:
        """``/readyz``'s status and body; (0, {}) when the gateway does not answer."""
        try:
            response = httpx.get(f"{self.url}/readyz", timeout=5)
            return response.status_code, response.json()
        except (httpx.HTTPError, ValueError):
            return 0, {}

    def wait_ready(self, timeout: float = 300) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"agenthub up exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            return self.readyz()[0] == 200

        try:
            wait_until(ready, timeout, "the private stack's /readyz", interval=0.5)
        except TimeoutError as error:
            raise TimeoutError(f"{error}; readyz={self.readyz()}\n{self.log()[-4000:]}") from None

    def pid(self, name: str) -> int | None:
        """The pid of child ``name`` (auth, agent, rag or gateway), or None when it is not running."""
        marker = CHILD_MARKERS[name]
        for child in psutil.Process(self.process.pid).children(recursive=False):
            try:
                cmdline = child.cmdline()
            except psutil.Error:
                continue
            if marker in cmdline and child.status() != psutil.STATUS_ZOMBIE:
                return child.pid
        return None

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Sends ``sig`` to child ``name``'s process group; returns the pid it had."""
        pid = self.pid(name)
        assert pid is not None, f"{name} is not running"
        os.killpg(pid, sig)
        return pid

    def wait_restarted(self, name: str, old_pid: int, timeout: float = 300) -> int:
        """Waits for a new ``name`` process and for ``/readyz`` 200 again; returns the new pid."""
        pid = wait_until(
            lambda: (p := self.pid(name)) not in (None, old_pid) and p, timeout, f"{name} restarted by the supervisor"
        )
        self.wait_ready(timeout)
        return pid

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                for child in psutil.Process(self.process.pid).children(recursive=True):
                    child.kill()
                self.process.kill()
                self.process.wait()
        self._log.close()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
