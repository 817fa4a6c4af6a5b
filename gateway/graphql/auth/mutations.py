"""Mutations of the auth domain: thin calls to the auth service."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from gateway.context import Context
from gateway.graphql.auth.types import CreateApiKeyInput, CreatedApiKey, LoginInput, RegisterInput, TokenPair, \
    User
from gateway.graphql.permissions import RoleEnum, public, requires
from schema import auth
from schema.permissions import Permission


@strawberry.type
class AuthMutation:
    @strawberry.mutation(directives=public("creating an account"), description="Create a user account.")
    async def register(self, info: Info[Context, None], input: RegisterInput) -> User:
        data = {k: v for k, v in strawberry.asdict(input).items() if v is not None}
        return User.from_pydantic(auth.UserOut.model_validate(await info.context.call("auth", "register", data)))

    @strawberry.mutation(directives=public("signing in"), description="Sign in: an access and a refresh token.")
    async def login(self, info: Info[Context, None], input: LoginInput) -> TokenPair:
        pair = await info.context.call("auth", "login", strawberry.asdict(input))
        return TokenPair.from_pydantic(auth.TokenPair.model_validate(pair))

    @strawberry.mutation(directives=public("the refresh token is the credential"),
                         description="Trade a refresh token for a new pair; each refresh token works once.")
    async def refresh_token(self, info: Info[Context, None], refresh_token: str) -> TokenPair:
        pair = await info.context.call("auth", "refresh", refresh_token)
        return TokenPair.from_pydantic(auth.TokenPair.model_validate(pair))

    @strawberry.mutation(extensions=[requires()], description="End this session: its tokens stop working now.")
    async def logout(self, info: Info[Context, None]) -> bool:
        return await info.context.call("auth", "logout")

    @strawberry.mutation(extensions=[requires(Permission.MANAGE_ACCOUNT)], description="End one of my sessions.")
    async def revoke_session(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        return await info.context.call("auth", "revoke_session", str(id))

    @strawberry.mutation(extensions=[requires(Permission.MANAGE_ACCOUNT)],
                         description="Create an API key with some of my permissions.")
    async def create_api_key(self, info: Info[Context, None], input: CreateApiKeyInput) -> CreatedApiKey:
        data = {"name": input.name, "scopes": [s.value for s in input.scopes],
                "expires_at": input.expires_at.isoformat() if input.expires_at else None}
        created = await info.context.call("auth", "create_api_key", data)
        return CreatedApiKey.from_pydantic(auth.CreatedApiKey.model_validate(created))

    @strawberry.mutation(extensions=[requires(Permission.MANAGE_ACCOUNT)],
                         description="Revoke one of my API keys; it fails from now on.")
    async def revoke_api_key(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        return await info.context.call("auth", "revoke_api_key", str(id))

    @strawberry.mutation(extensions=[requires(Permission.MANAGE_USERS)], description="Change a user's role.")
    async def set_user_role(self, info: Info[Context, None], user_id: strawberry.ID, role: RoleEnum) -> User:
        user = await info.context.call("auth", "set_user_role", str(user_id), role.value)
        return User.from_pydantic(auth.UserOut.model_validate(user))

    @strawberry.mutation(extensions=[requires(Permission.MANAGE_USERS)],
                         description="Deactivate or reactivate a user; deactivation ends every session and key at once.")
    async def set_user_active(self, info: Info[Context, None], user_id: strawberry.ID, active: bool) -> User:
        user = await info.context.call("auth", "set_user_active", str(user_id), active)
        return User.from_pydantic(auth.UserOut.model_validate(user))
