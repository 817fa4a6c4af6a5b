"""Is every service answering? Used by ``/readyz`` and the ``health`` query."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.rpc import RpcClient
from schema.models import ServiceHealth, Status

SERVICES = ("auth", "agent", "rag")


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    status: Status
    version: str | None
    latency_ms: float | None
    detail: str = ""


async def check_service(rpc: RpcClient, name: str, timeout: float,
                        context: Mapping[str, Any] | None = None) -> ServiceStatus:
    started = time.perf_counter()
    try:
        reply = await rpc.call(name, "health", timeout=timeout, context=context)
        health = ServiceHealth.model_validate(reply)
    except Exception as exc:  # DOWN is the answer, whatever the failure
        return ServiceStatus(name, Status.DOWN, None, None, str(exc) or type(exc).__name__)
    latency = round((time.perf_counter() - started) * 1000, 2)
    down = [d.name for d in health.dependencies if d.status is Status.DOWN]
    detail = f"dependencies down: {', '.join(down)}" if down else ""
    return ServiceStatus(name, health.status, health.version, latency, detail)


async def check_services(rpc: RpcClient, timeout: float,
                         context: Mapping[str, Any] | None = None) -> list[ServiceStatus]:
    return list(await asyncio.gather(*(check_service(rpc, name, timeout, context) for name in SERVICES)))


class SharedHealth:
    """One health poll answers every caller for ``ttl`` seconds (and concurrent callers share one poll):
    40 ``health`` subscribers cost three RPCs per interval, not 120, and a flood of anonymous
    ``health`` queries costs the services nothing more."""

    def __init__(self, rpc: RpcClient, timeout: float, ttl: float) -> None:
        self.rpc, self.timeout, self.ttl = rpc, timeout, ttl
        self._value: list[ServiceStatus] | None = None
        self._at = 0.0
        self._inflight: asyncio.Future | None = None
        self.polls = 0

    async def statuses(self) -> list[ServiceStatus]:
        if self._value is not None and time.monotonic() - self._at < self.ttl:
            return self._value
        if self._inflight is None:
            self._inflight = asyncio.ensure_future(self._poll())
        return await asyncio.shield(self._inflight)

    async def _poll(self) -> list[ServiceStatus]:
        try:
            self.polls += 1
            value = await check_services(self.rpc, self.timeout)
            self._value, self._at = value, time.monotonic()
            return value
        finally:
            self._inflight = None
