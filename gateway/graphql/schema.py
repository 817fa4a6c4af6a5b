"""The root types, composed from each domain's queries, and the schema factory."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import GraphQLError, OperationType
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from gateway.graphql.agent.mutations import AgentMutation
from gateway.graphql.agent.queries import AgentQuery
from gateway.graphql.agent.subscriptions import AgentSubscription
from gateway.graphql.auth.mutations import AuthMutation
from gateway.graphql.auth.queries import AuthQuery
from gateway.graphql.errors import ErrorConvention
from gateway.graphql.guard import OperationGuard, root_field_costs
from gateway.graphql.health import HealthQuery, HealthSubscription
from gateway.graphql.inputs import InputLimits
from gateway.graphql.rag.mutations import RagMutation
from gateway.graphql.rag.queries import RagQuery
from gateway.graphql.rag.subscriptions import RagSubscription
from gateway.settings import GatewaySettings


@strawberry.type
class Query(HealthQuery, AuthQuery, AgentQuery, RagQuery):
    pass


@strawberry.type
class Mutation(AuthMutation, AgentMutation, RagMutation):
    pass


@strawberry.type
class Subscription(HealthSubscription, AgentSubscription, RagSubscription):
    pass


class GatewaySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Logging happens in ``ErrorConvention``: only unexpected errors, with the request id."""


def build_schema(settings: GatewaySettings | None = None) -> strawberry.Schema:
    settings = settings or GatewaySettings(env="development")
    # The limiters' rule classes are built once: a fresh class per request would
    # change ValidationCache's key and defeat the cache (measured: validation was
    # a fifth of the gateway's CPU per request before).
    limit_rules = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    config = StrawberryConfig(disable_field_suggestions=not settings.development)
    roots = {OperationType.QUERY: Query, OperationType.MUTATION: Mutation, OperationType.SUBSCRIPTION: Subscription}
    costs = root_field_costs(roots, config.name_converter)
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        ErrorConvention,  # first in, last out: it sees every error, and records the operation's metrics
        lambda: ParserCache(maxsize=1024),
        lambda: ValidationCache(maxsize=1024),
        lambda: OperationGuard(costs),  # after ValidationCache: it appends to the validation errors
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: AddValidationRules(limit_rules),
        InputLimits,
    ]
    if not settings.introspection_enabled:  # production: the schema is published as schema.graphql instead
        extensions.append(DisableIntrospection)
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=config,
    )


# The exported contract (schema/schema.graphql) is printed from this instance.
schema = build_schema()
