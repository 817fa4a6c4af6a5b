"""Queries of the auth domain: thin calls to the auth service."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from gateway.context import Context
from gateway.graphql.auth.types import ApiKey, AuditEntry, AuditEntryConnection, AuditFilter, Session, User, \
    UserConnection
from gateway.graphql.pagination import PageInfo
from gateway.graphql.permissions import requires
from schema import auth
from schema.permissions import Permission


def _filter(value: AuditFilter | None) -> dict:
    if value is None:
        return {}
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in strawberry.asdict(value).items() if v is not None}


@strawberry.type
class AuthQuery:
    @strawberry.field(extensions=[requires()], description="The signed-in account.")
    async def me(self, info: Info[Context, None]) -> User:
        context = info.context
        if context.profile is not None and context.profile.get("active"):
            # Answered at the edge: the token is verified and current, and the profile
            # was read by auth under this very token version (gateway/auth.py).
            principal = context.require_principal()
            profile = {**context.profile, "role": principal.role, "permissions": sorted(principal.permissions)}
            return User.from_pydantic(auth.UserOut.model_validate(profile))
        return User.from_pydantic(auth.UserOut.model_validate(await context.call("auth", "me")))

    @strawberry.field(extensions=[requires(Permission.MANAGE_ACCOUNT)], description="My active sessions.")
    async def sessions(self, info: Info[Context, None]) -> list[Session]:
        return [Session.from_pydantic(auth.SessionOut.model_validate(s))
                for s in await info.context.call("auth", "sessions")]

    @strawberry.field(extensions=[requires(Permission.MANAGE_ACCOUNT)],
                      description="My API keys (never the keys themselves).")
    async def api_keys(self, info: Info[Context, None]) -> list[ApiKey]:
        return [ApiKey.from_pydantic(auth.ApiKeyOut.model_validate(k))
                for k in await info.context.call("auth", "api_keys")]

    @strawberry.field(extensions=[requires(Permission.MANAGE_USERS)], description="Every account, paged.")
    async def users(self, info: Info[Context, None], first: int = 20, after: str | None = None,
                    search: str | None = None) -> UserConnection:
        page = await info.context.call("auth", "users", first=first, after=after, search=search)
        return UserConnection(nodes=[User.from_pydantic(auth.UserOut.model_validate(u)) for u in page["items"]],
                              page_info=PageInfo.from_page(page))

    @strawberry.field(extensions=[requires(Permission.READ_SYSTEM)], description="Security events, newest first.")
    async def audit_log(self, info: Info[Context, None], filter: AuditFilter | None = None, first: int = 50,
                        after: str | None = None) -> AuditEntryConnection:
        page = await info.context.call("auth", "audit_log", _filter(filter), first=first, after=after)
        return AuditEntryConnection(
            nodes=[AuditEntry.from_pydantic(auth.AuditEntryOut.model_validate(e)) for e in page["items"]],
            page_info=PageInfo.from_page(page))
