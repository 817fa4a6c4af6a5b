"""Is every service answering? Used by ``/readyz`` and the ``health`` query."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from core import __version__
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


async def check_service(
    rpc: RpcClient, name: str, timeout: float, context: Mapping[str, Any] | None = None
) -> ServiceStatus:
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


async def redis_down(redis: Redis, timeout: float) -> str:
    """Why the gateway's Redis does not answer a PING within ``timeout``; empty when it does."""
    try:
        await asyncio.wait_for(redis.ping(), timeout)
    except Exception as exc:  # DOWN is the answer, whatever the failure
        return f"redis: {str(exc)[:160] or type(exc).__name__}"
    return ""


async def check_gateway(rpc: RpcClient, redis: Redis, timeout: float) -> ServiceStatus:
    """The gateway itself and what it depends on directly: the broker and Redis."""
    started = time.perf_counter()
    down = [] if rpc.connected else ["broker"]
    redis_problem = await redis_down(redis, timeout)
    if redis_problem:
        down.append("redis")
    latency = round((time.perf_counter() - started) * 1000, 2)
    if not down:
        return ServiceStatus("gateway", Status.UP, __version__, latency)
    detail = f"dependencies down: {', '.join(down)}" + (f" ({redis_problem})" if redis_problem else "")
    return ServiceStatus("gateway", Status.DOWN, __version__, latency, detail)


async def check_services(
    rpc: RpcClient, timeout: float, context: Mapping[str, Any] | None = None
) -> list[ServiceStatus]:
    return list(await asyncio.gather(*(check_service(rpc, name, timeout, context) for name in SERVICES)))


class SharedHealth:
    """One health poll answers every caller for ``ttl`` seconds (and concurrent callers share one poll):
    40 ``health`` subscribers cost three RPCs per interval, not 120, and a flood of anonymous
    ``health`` queries costs the services nothing more."""

    def __init__(self, rpc: RpcClient, timeout: float, ttl: float, redis: Redis | None = None) -> None:
        self.rpc, self.timeout, self.ttl, self.redis = rpc, timeout, ttl, redis
        self._value: list[ServiceStatus] | None = None
        self._at = 0.0
        self._inflight: asyncio.Future[list[ServiceStatus]] | None = None
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
            if self.redis is None:
                value = await check_services(self.rpc, self.timeout)
            else:  # the gateway itself first: its broker and Redis
                gateway, services = await asyncio.gather(
                    check_gateway(self.rpc, self.redis, self.timeout), check_services(self.rpc, self.timeout)
                )
                value = [gateway, *services]
            self._value, self._at = value, time.monotonic()
            return value
        finally:
            self._inflight = None
