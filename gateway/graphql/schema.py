"""The root types, composed from each domain's queries, and the schema factory."""

from __future__ import annotations

import strawberry
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from gateway.graphql.auth.mutations import AuthMutation
from gateway.graphql.auth.queries import AuthQuery
from gateway.graphql.errors import ErrorConvention
from gateway.graphql.guard import OperationGuard
from gateway.graphql.health import HealthQuery, HealthSubscription
from gateway.settings import GatewaySettings


@strawberry.type
class Query(HealthQuery, AuthQuery):
    pass


@strawberry.type
class Mutation(AuthMutation):
    pass


@strawberry.type
class Subscription(HealthSubscription):
    pass


class GatewaySchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """Logging happens in ``ErrorConvention``: only unexpected errors, with the request id."""


def build_schema(settings: GatewaySettings | None = None) -> strawberry.Schema:
    settings = settings or GatewaySettings(env="development")
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            ErrorConvention,
            lambda: ParserCache(maxsize=1024),
            lambda: ValidationCache(maxsize=1024),
            OperationGuard,  # after ValidationCache: it appends to the validation errors
            lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
            lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
            lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
        ],
        config=StrawberryConfig(disable_field_suggestions=not settings.development),
    )


# The exported contract (schema/schema.graphql) is printed from this instance.
schema = build_schema()
