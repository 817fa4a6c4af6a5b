"""``agenthub probe SERVICE [--ready]``: a health check for containers and pods, exit 0 or 1.

* ``gateway``: ``GET /healthz`` (liveness) or ``/readyz`` (``--ready``) on this host's gateway.
* ``auth``/``agent``/``rag``, liveness: a ``nameko run`` process of THIS container holds an
  established connection to the broker (it consumes its queue through it), read from ``/proc``.
  Local on purpose: the ``health`` RPC is answered by whichever replica takes it, so a pod whose
  consumer died would still look alive through it.
* ``auth``/``agent``/``rag``, ``--ready``: the same, and the service's ``health`` RPC answers UP
  through the broker (its own dependency checks: Redis, database, store).

One line on stdout says why; no traceback.
"""

from __future__ import annotations

import asyncio
import os
import urllib.parse
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.settings import CommonSettings

SERVICES = ("auth", "agent", "rag")
TARGETS = (*SERVICES, "gateway")


class ProbeFailed(Exception):
    pass


def _socket_inodes(proc: Path, marker: bytes) -> set[str]:
    """Socket inodes held by every process (but this one) whose command line contains ``marker``."""
    inodes: set[str] = set()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker not in (entry / "cmdline").read_bytes():
                continue
            for fd in (entry / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:  # the process ended, or is not ours to read
            continue
    return inodes


def _established_to(proc: Path, port: int, inodes: set[str]) -> bool:
    for table in ("net/tcp", "net/tcp6"):
        try:
            rows = [line.split() for line in (proc / table).read_text().splitlines()[1:]]
        except OSError:
            continue
        for row in rows:  # local, remote, state (01 = ESTABLISHED), ..., inode at 9
            if row[3] == "01" and int(row[2].rsplit(":", 1)[1], 16) == port and row[9] in inodes:
                return True
    return False


def check_consumer(service: str, amqp_uri: str, proc: Path = Path("/proc")) -> str:
    module = f"services.{service}.service".encode()
    inodes = _socket_inodes(proc, module)
    if not inodes:
        raise ProbeFailed(f"no running {service} process in this container")
    port = urllib.parse.urlsplit(amqp_uri).port or 5672
    if not _established_to(proc, port, inodes):
        raise ProbeFailed(f"{service} holds no established connection to the broker (port {port})")
    return f"{service} process connected to the broker"


async def _health_rpc(service: str, settings: CommonSettings, timeout: float) -> str:
    from gateway.rpc import RpcClient
    from schema.models import ServiceHealth, Status

    client = RpcClient(
        settings.amqp_uri,
        exchange=settings.rpc_exchange,
        name="probe",
        max_backoff=1.0,
        tls=settings.amqp_ssl_context(),
    )
    try:
        await client.start(wait=timeout)
        health = ServiceHealth.model_validate(await client.call(service, "health", timeout=timeout))
    except Exception as exc:  # the probe's answer is the reason, whatever failed
        raise ProbeFailed(f"{service} health RPC failed: {exc or type(exc).__name__}") from None
    finally:
        await client.close()
    if health.status is not Status.UP:
        down = ", ".join(d.name for d in health.dependencies if d.status is not Status.UP)
        raise ProbeFailed(f"{service} is {health.status.value}: dependencies down: {down}")
    return f"{service} {health.version} answers UP"


def check_gateway(ready: bool, port: int, timeout: float) -> str:
    path = "/readyz" if ready else "/healthz"
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return f"{path} {response.status}"
    except OSError as exc:
        raise ProbeFailed(f"{url}: {exc}") from None


def probe(target: str, ready: bool = False, timeout: float = 5.0) -> str:
    """The reason it is healthy; raises ``ProbeFailed`` with the reason it is not."""
    from core.settings import CommonSettings

    if target == "gateway":
        return check_gateway(ready, int(os.environ.get("AGENTHUB_PORT") or 8000), timeout)
    settings = CommonSettings()
    detail = check_consumer(target, settings.amqp_uri)
    if ready:
        detail = asyncio.run(_health_rpc(target, settings, timeout))
    return detail
