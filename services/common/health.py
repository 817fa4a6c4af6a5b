"""Health reports: a service and the state of what it depends on."""

from __future__ import annotations

from collections.abc import Callable

from schema.models import DependencyHealth, ServiceHealth, Status

Check = Callable[[], str]
"""A check returns a short detail when healthy and raises when not."""


def report(name: str, version: str, checks: dict[str, Check]) -> ServiceHealth:
    dependencies = []
    for dependency, check in checks.items():
        try:
            detail = check() or ""
            dependencies.append(DependencyHealth(name=dependency, status=Status.UP, detail=detail))
        except Exception as exc:  # a health check reports failures; it never raises them
            dependencies.append(DependencyHealth(name=dependency, status=Status.DOWN, detail=str(exc)[:200]))
    status = Status.UP if all(d.status is Status.UP for d in dependencies) else Status.DOWN
    return ServiceHealth(name=name, version=version, status=status, dependencies=dependencies)


def redis_check(client) -> Check:
    def check() -> str:
        client.ping()
        return "reachable"
    return check
