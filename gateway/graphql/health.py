"""GraphQL types and fields of the system's health."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from enum import Enum

import strawberry
from strawberry.types import Info

from gateway.context import Context
from gateway.graphql.live import live
from gateway.graphql.permissions import public
from gateway.health import ServiceStatus, check_gateway, check_services
from schema.errors import BadUserInput
from schema.models import Status


@strawberry.enum(description="UP when the service answered and all it depends on is reachable.")
class HealthStatus(Enum):
    UP = "UP"
    DOWN = "DOWN"


@strawberry.type(
    description="The gateway itself (first: its broker and Redis) or one service, as seen from the gateway."
)
class ServiceHealth:
    name: str
    status: HealthStatus
    version: str | None
    latency_ms: float | None = strawberry.field(description="Round trip of its health RPC, in milliseconds.")
    detail: str = strawberry.field(description="Why it is DOWN; empty when UP.")

    @classmethod
    def from_status(cls, status: ServiceStatus) -> ServiceHealth:
        return cls(
            name=status.name,
            status=HealthStatus(status.status.value),
            version=status.version,
            latency_ms=status.latency_ms,
            detail=status.detail,
        )


@strawberry.type(description="UP only when every service is UP.")
class SystemHealth:
    status: HealthStatus
    services: list[ServiceHealth]


async def system_health(info: Info[Context, None]) -> SystemHealth:
    context = info.context
    shared = getattr(context.request.app.state, "health", None)
    if shared is not None:
        statuses = await shared.statuses()
    else:
        gateway, services = await asyncio.gather(
            check_gateway(context.rpc, context.edge.redis, context.settings.ready_timeout),
            check_services(context.rpc, context.settings.ready_timeout, context.rpc_context()),
        )
        statuses = [gateway, *services]
    overall = HealthStatus.UP if all(s.status is Status.UP for s in statuses) else HealthStatus.DOWN
    return SystemHealth(status=overall, services=[ServiceHealth.from_status(s) for s in statuses])


@strawberry.type
class HealthQuery:
    health: SystemHealth = strawberry.field(
        resolver=system_health,
        description="Whether each service answers.",
        directives=public("operators and load balancers probe it"),
    )


@strawberry.type
class HealthSubscription:
    # strawberry.subscription(...) with arguments is typed as returning Any
    @strawberry.subscription(
        description="The system's health now, then every intervalSeconds.",  # type: ignore[untyped-decorator]
        directives=public("operators and load balancers probe it"),
    )
    async def health(
        self, info: Info[Context, None], interval_seconds: float = 5.0
    ) -> AsyncGenerator[SystemHealth, None]:
        if not 1.0 <= interval_seconds <= 3600:
            raise BadUserInput.for_fields({"intervalSeconds": "must be between 1 and 3600"})
        async for health in live(info, _every(info, interval_seconds)):
            yield health


async def _every(info: Info[Context, None], interval_seconds: float) -> AsyncGenerator[SystemHealth, None]:
    while True:
        yield await system_health(info)
        await asyncio.sleep(interval_seconds)
