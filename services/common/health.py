"""Health reports: a service and the state of what it depends on."""

from __future__ import annotations

import os
import socket
from collections import Counter
from collections.abc import Callable
from functools import lru_cache

import redis

from schema.models import DependencyHealth, ServiceHealth, Status

BUSY: Counter[str] = Counter()
"""Workers running now, per service of this process (kept by ``RequestLog``)."""

Check = Callable[[], str]
"""A check returns a short detail when healthy and raises when not."""


@lru_cache(maxsize=1)
def instance_name() -> str:
    """``AGENTHUB_INSTANCE`` (``agenthub up --scale`` sets ``auth-2``), else ``host:pid``."""
    from core.settings import CommonSettings

    return CommonSettings().instance or f"{socket.gethostname()}:{os.getpid()}"


def report(name: str, version: str, checks: dict[str, Check]) -> ServiceHealth:
    dependencies = []
    for dependency, check in checks.items():
        try:
            detail = check() or ""
            dependencies.append(DependencyHealth(name=dependency, status=Status.UP, detail=detail))
        except Exception as exc:  # a health check reports failures; it never raises them
            dependencies.append(DependencyHealth(name=dependency, status=Status.DOWN, detail=str(exc)[:200]))
    status = Status.UP if all(d.status is Status.UP for d in dependencies) else Status.DOWN
    return ServiceHealth(
        name=name,
        version=version,
        status=status,
        dependencies=dependencies,
        instance=instance_name(),
        in_flight=max(0, BUSY[name] - 1),
    )  # not this call


def redis_check(client: redis.Redis) -> Check:
    def check() -> str:
        client.ping()
        return "reachable"

    return check
