"""Mutations of the auth domain: each one operation of ``schema/auth.py``."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from gateway.context import Context
from gateway.graphql.auth.types import CreateApiKeyInput, CreatedApiKey, LoginInput, RegisterInput, TokenPair, User
from gateway.graphql.permissions import operation_mutation
from schema import auth
from schema.permissions import Role


@strawberry.type
class AuthMutation:
    @operation_mutation(auth.REGISTER, reason="creating an account")
    async def register(self, info: Info[Context, None], input: RegisterInput) -> User:
        return User.from_pydantic(await info.context.invoke(auth.REGISTER, strawberry.asdict(input)))

    @operation_mutation(auth.LOGIN, reason="signing in")
    async def login(self, info: Info[Context, None], input: LoginInput) -> TokenPair:
        return TokenPair.from_pydantic(await info.context.invoke(auth.LOGIN, strawberry.asdict(input)))

    @operation_mutation(auth.REFRESH, reason="the refresh token is the credential")
    async def refresh_token(self, info: Info[Context, None], refresh_token: str) -> TokenPair:
        return TokenPair.from_pydantic(await info.context.invoke(auth.REFRESH, {"refresh_token": refresh_token}))

    @operation_mutation(auth.LOGOUT)
    async def logout(self, info: Info[Context, None]) -> bool:
        return await info.context.invoke(auth.LOGOUT)

    @operation_mutation(auth.REVOKE_SESSION)
    async def revoke_session(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        return await info.context.invoke(auth.REVOKE_SESSION, {"session_id": id})

    @operation_mutation(auth.CREATE_API_KEY)
    async def create_api_key(self, info: Info[Context, None], input: CreateApiKeyInput) -> CreatedApiKey:
        return CreatedApiKey.from_pydantic(await info.context.invoke(auth.CREATE_API_KEY, strawberry.asdict(input)))

    @operation_mutation(auth.REVOKE_API_KEY)
    async def revoke_api_key(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        return await info.context.invoke(auth.REVOKE_API_KEY, {"key_id": id})

    @operation_mutation(auth.SET_USER_ROLE)
    async def set_user_role(self, info: Info[Context, None], user_id: strawberry.ID, role: Role) -> User:
        return User.from_pydantic(await info.context.invoke(auth.SET_USER_ROLE, {"user_id": user_id, "role": role}))

    @operation_mutation(auth.SET_USER_ACTIVE)
    async def set_user_active(self, info: Info[Context, None], user_id: strawberry.ID, active: bool) -> User:
        return User.from_pydantic(
            await info.context.invoke(auth.SET_USER_ACTIVE, {"user_id": user_id, "active": active})
        )
