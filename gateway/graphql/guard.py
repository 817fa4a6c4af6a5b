"""Per GraphQL operation: re-check revocation on long-lived WebSockets, apply
the rate limit, and audit permission denials.

One budget per owner: a user's tokens and API keys all draw on ``user:<id>``,
so more keys do not mean more requests. An operation costs the sum of its root
fields' costs (each its operation's ``Operation.cost``, default 1), aliases included: fifteen aliased
``ask`` fields cost fifteen ``ask``s, not one request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
)
from graphql.utilities import get_operation_ast
from redis.exceptions import RedisError
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension
from strawberry.schema.name_converter import NameConverter
from strawberry.types import ExecutionContext
from strawberry.types.base import get_object_definition

from core import metrics
from core.ratelimit import Decision, Limit
from core.redis_client import is_redis_down, redis_unavailable
from gateway.graphql.permissions import OPERATION_METADATA
from gateway.requests import annotate
from schema.errors import AgentHubError, RateLimited, ServiceUnavailable
from schema.models import Outcome

if TYPE_CHECKING:
    from gateway.auth import Verified
    from gateway.context import Context


def root_field_costs(roots: Mapping[OperationType, type], names: NameConverter) -> dict[tuple[OperationType, str], int]:
    """What each root field costs: the ``cost`` declared on the operation it calls (``Operation.cost``),
    keyed by operation type and GraphQL name (``Query.agentRun`` reads a run, ``Subscription.agentRun``
    starts one). Fields costing the default 1 are left out."""
    costs = {}
    for kind, root in roots.items():
        for field in get_object_definition(root, strict=True).fields:
            op = field.metadata.get(OPERATION_METADATA)
            if op is not None and op.cost != 1:
                costs[(kind, names.get_graphql_name(field))] = op.cost
    return costs


def operation_cost(
    document: DocumentNode | None, operation_name: str | None, costs: Mapping[tuple[OperationType, str], int]
) -> int:
    """The cost of the operation that will run: its root fields (through fragments), at least 1."""
    if document is None:
        return 1
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 1
    kind = operation.operation
    total, seen = 0, set()

    def walk(selection_set: SelectionSetNode) -> None:
        nonlocal total
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += costs.get((kind, selection.name.value), 1)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    walk(fragment.selection_set)

    walk(operation.selection_set)
    return max(1, total)


class OperationGuard(SchemaExtension):
    """Must come after ``ValidationCache`` in the schema's extensions: it adds its
    refusal to the validation errors, which is the one path that reports an
    error the same way for queries, mutations and subscriptions. ``costs``: ``root_field_costs``."""

    def __init__(self, costs: Mapping[tuple[OperationType, str], int]) -> None:
        self.costs = costs

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if isinstance(context.request, WebSocket) and context.claims:
            try:  # a WebSocket outlives revocations: check again for each operation
                await context.edge.check_revocation(context.claims)
            except AgentHubError as exc:  # revoked, or cannot tell (Redis or auth down): signed out, never valid
                context.principal, context.auth_token, context.claims, context.auth_error = None, None, None, exc
        try:
            if context.pending is not None:  # HTTP: revocation and the rate limit in one round trip
                await self._admit(context, context.pending)
            else:
                await self._limit(context)
        except ServiceUnavailable as exc:
            # Redis is down: no budget can be counted. Only the health probe, which
            # needs no Redis and must say what is down, goes on without one.
            if not _only_health(self.execution_context):
                self._refuse(exc)
        except RateLimited as exc:
            self._refuse(exc)
        yield

    def _refuse(self, exc: AgentHubError) -> None:
        errors = list(self.execution_context.pre_execution_errors or [])
        errors.append(GraphQLError(exc.message, original_error=exc))
        self.execution_context.pre_execution_errors = errors

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        yield
        await audit_denials(context)

    async def _limit(self, context: Context) -> None:
        execution = self.execution_context
        # Anonymous callers pay one unit per field: the costly fields would refuse them anyway.
        costs = self.costs if context.principal is not None else {}
        cost = operation_cost(execution.graphql_document, execution.operation_name, costs)
        await enforce_rate_limit(context, execution.operation_name or "anonymous", cost)

    async def _admit(self, context: Context, pending: Verified) -> None:
        """The pending token's revocation check and the rate limit together (``EdgeAuthenticator.admit``):
        the owner's budget at the owner's costs when the token stands, else the address's at one unit per
        field, exactly as ``authenticate`` then ``_limit`` would."""
        context.pending = None
        execution = self.execution_context
        document, operation = execution.graphql_document, execution.operation_name
        owner = budget(context, pending.claims["sub"], operation_cost(document, operation, self.costs))
        address = budget(context, None, operation_cost(document, operation, {}))
        try:
            admission = await context.edge.admit(pending, context.limiter, owner, address)
        except ServiceUnavailable as exc:  # Redis down: nobody is signed in and no budget is counted
            context.auth_error = exc
            annotate(outcome="SERVICE_UNAVAILABLE")
            raise
        if admission is None:  # the revocation epoch is missing: auth republishes, then the usual two steps
            context.pending = pending
            await context.check_pending()
            await self._limit(context)
            return
        if admission.authenticated is not None:
            context.accept(admission.authenticated)
            name = owner[0]
        else:
            context.auth_error = admission.error
            name = address[0]
        await refuse_if_spent(context, name, admission.decision, operation or "anonymous")


UNLIMITED_FIELDS = frozenset({"health", "__typename"})


def _only_health(execution_context: ExecutionContext) -> bool:
    """True when the operation asks for nothing but ``health`` (no fragments at its root)."""
    document = execution_context.graphql_document
    if document is None:
        return False
    operation = get_operation_ast(document, execution_context.operation_name)
    if operation is None:
        return False
    selections = operation.selection_set.selections
    return all(isinstance(s, FieldNode) and s.name.value in UNLIMITED_FIELDS for s in selections)


async def audit_denials(context: Context) -> None:
    """Audit the permission denials recorded during one operation (GraphQL or REST)."""
    for permission, field_name in context.denials:
        await context.audit(
            "permission_denied", outcome=Outcome.DENIED, resource=field_name, detail={"permission": permission}
        )
    context.denials.clear()


def budget(context: Context, user_id: str | None, cost: int) -> tuple[str, Limit, int]:
    """The window a caller draws on, its limit and the cost charged (at most the whole window): the
    owner's for a signed-in caller (tokens and API keys alike), else the client address's."""
    settings = context.settings
    if user_id is not None:
        name, limit = f"user:{user_id}", settings.authenticated_limit
    else:
        name, limit = f"ip:{context.client_ip}", settings.anonymous_limit
    return name, limit, min(cost, limit.requests)


async def enforce_rate_limit(context: Context, operation: str, cost: int = 1) -> None:
    """Count ``cost`` units against the owner's budget; raise ``RateLimited`` when it is spent.

    Shared by GraphQL operations and REST routes (gateway/rest), so both draw on one budget.
    """
    principal = context.principal
    name, limit, cost = budget(context, principal.user_id if principal is not None else None, cost)
    try:
        decision = await context.limiter.hit(name, limit, cost=cost)
    except RedisError as exc:
        if not is_redis_down(exc):
            raise
        annotate(outcome="SERVICE_UNAVAILABLE")
        raise redis_unavailable() from None
    await refuse_if_spent(context, name, decision, operation)


async def refuse_if_spent(context: Context, name: str, decision: Decision, operation: str) -> None:
    """Raise ``RateLimited`` when ``decision`` (of the window ``name``) refused; audit the first refusal."""
    if decision.allowed:
        return
    settings = context.settings
    annotate(outcome="RATE_LIMITED")
    metrics.RATE_LIMITED.labels("authenticated" if context.principal is not None else "anonymous").inc()
    try:
        # Audit the first refusal of each window, not every request of a flood.
        first = await context.edge.redis.set(
            f"{settings.redis_prefix}rl-audited:{name}", "1", nx=True, ex=decision.retry_after
        )
    except RedisError as exc:
        if not is_redis_down(exc):
            raise
        annotate(outcome="SERVICE_UNAVAILABLE")
        raise redis_unavailable() from None
    if first:
        await context.audit("rate_limited", outcome=Outcome.DENIED, resource=name, detail={"operation": operation})
    raise RateLimited(f"Too many requests; retry in {decision.retry_after} s.", {"retryAfter": decision.retry_after})
