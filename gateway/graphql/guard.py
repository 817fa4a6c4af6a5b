"""Per GraphQL operation: re-check revocation on long-lived WebSockets, apply
the rate limit, and audit permission denials.

Counting per operation (not per field or alias) means an aliased or batched
request cannot multiply its budget.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from graphql import GraphQLError
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension

from agenthub import metrics
from gateway.requests import annotate
from schema.errors import RateLimited, Unauthenticated
from schema.models import Outcome


class OperationGuard(SchemaExtension):
    """Must come after ``ValidationCache`` in the schema's extensions: it adds its
    refusal to the validation errors, which is the one path that reports an
    error the same way for queries, mutations and subscriptions."""

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if isinstance(context.request, WebSocket) and context.claims:
            try:  # a WebSocket outlives revocations: check again for each operation
                await context.edge.check_revocation(context.claims)
            except Unauthenticated as exc:
                context.principal, context.auth_token, context.claims, context.auth_error = None, None, None, exc
        try:
            await self._limit(context)
        except RateLimited as exc:
            errors = list(self.execution_context.pre_execution_errors or [])
            errors.append(GraphQLError(exc.message, original_error=exc))
            self.execution_context.pre_execution_errors = errors
        yield

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        yield
        await audit_denials(context)

    async def _limit(self, context) -> None:
        await enforce_rate_limit(context, self.execution_context.operation_name or "anonymous")


async def audit_denials(context) -> None:
    """Audit the permission denials recorded during one operation (GraphQL or REST)."""
    for permission, field_name in context.denials:
        await context.audit("permission_denied", outcome=Outcome.DENIED, resource=field_name,
                            detail={"permission": permission})
    context.denials.clear()


async def enforce_rate_limit(context, operation: str) -> None:
    """Count one operation against the caller's budget; raise ``RateLimited`` when it is spent.

    Shared by GraphQL operations and REST routes (gateway/rest), so both draw on one budget.
    """
    settings = context.settings
    principal = context.principal
    if principal is not None:
        name = f"apikey:{principal.api_key_id}" if principal.api_key_id else f"user:{principal.user_id}"
        limit = settings.authenticated_limit
    else:
        name, limit = f"ip:{context.client_ip}", settings.anonymous_limit
    decision = await context.limiter.hit(name, limit)
    if decision.allowed:
        return
    annotate(outcome="RATE_LIMITED")
    metrics.RATE_LIMITED.labels("authenticated" if principal is not None else "anonymous").inc()
    # Audit the first refusal of each window, not every request of a flood.
    first = await context.edge.redis.set(f"{settings.redis_prefix}rl-audited:{name}", "1",
                                         nx=True, ex=decision.retry_after)
    if first:
        await context.audit("rate_limited", outcome=Outcome.DENIED, resource=name, detail={"operation": operation})
    raise RateLimited(f"Too many requests; retry in {decision.retry_after} s.",
                      {"retryAfter": decision.retry_after})
