"""GraphQL types of the auth domain, derived from the RPC models in schema/auth.py
(one declaration per model)."""

from __future__ import annotations

import strawberry
from strawberry.experimental.pydantic import input as pydantic_input
from strawberry.experimental.pydantic import type as pydantic_type

from gateway.graphql.pagination import PageInfo
from gateway.graphql.permissions import PermissionEnum, RoleEnum  # noqa: F401  (registers the enums)
from schema import auth


@pydantic_type(model=auth.UserOut, all_fields=True, description="An account.")
class User:
    id: strawberry.ID


@pydantic_type(
    model=auth.TokenPair,
    all_fields=True,
    description="Send accessToken as 'Authorization: Bearer …'; trade refreshToken for a new pair.",
)
class TokenPair:
    pass


@pydantic_type(model=auth.SessionOut, all_fields=True, description="A signed-in device or client.")
class Session:
    id: strawberry.ID


@pydantic_type(model=auth.ApiKeyOut, all_fields=True, description="An API key; the key itself is never shown again.")
class ApiKey:
    id: strawberry.ID


@pydantic_type(
    model=auth.CreatedApiKey, all_fields=True, description="The new key, shown only this once: store it now."
)
class CreatedApiKey:
    pass


@pydantic_type(model=auth.AuditEntryOut, description="One security-relevant event.")
class AuditEntry:
    id: strawberry.ID
    at: strawberry.auto
    actor: strawberry.auto
    actor_type: strawberry.auto
    api_key_id: strawberry.auto
    action: strawberry.auto
    resource: strawberry.auto
    outcome: strawberry.auto
    ip: strawberry.auto
    user_agent: strawberry.auto
    request_id: strawberry.auto
    detail: strawberry.scalars.JSON


@strawberry.type
class UserConnection:
    nodes: list[User]
    page_info: PageInfo


@strawberry.type
class AuditEntryConnection:
    nodes: list[AuditEntry]
    page_info: PageInfo


@pydantic_input(model=auth.RegisterInput, all_fields=True)
class RegisterInput:
    pass


@pydantic_input(model=auth.LoginInput, all_fields=True)
class LoginInput:
    pass


@pydantic_input(
    model=auth.ApiKeyInput,
    all_fields=True,
    name="CreateApiKeyInput",
    description="Scopes must be a subset of your own permissions.",
)
class CreateApiKeyInput:
    pass


@pydantic_input(model=auth.AuditFilter, all_fields=True)
class AuditFilter:
    pass
