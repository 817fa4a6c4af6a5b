"""Queries of the auth domain: each one operation of ``schema/auth.py``."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from gateway.context import Context
from gateway.graphql.auth.types import (
    ApiKey,
    AuditEntry,
    AuditEntryConnection,
    AuditFilter,
    Session,
    User,
    UserConnection,
)
from gateway.graphql.pagination import PageInfo
from gateway.graphql.permissions import operation_field
from schema import auth


async def _me_from_auth(context: Context) -> User:
    return User.from_pydantic(await context.invoke(auth.ME))


@strawberry.type
class AuthQuery:
    @operation_field(auth.ME)
    def me(self, info: Info[Context, None]) -> User:
        context = info.context
        if context.profile is not None and context.profile.get("active"):
            # Answered at the edge: the token is verified and current, and the profile
            # was read by auth under this very token version (gateway/auth.py).
            principal = context.require_principal()
            profile = {**context.profile, "role": principal.role, "permissions": sorted(principal.permissions)}
            # UserOut is flat (scalars, enums, a list of enums): its fields are User's as they are, and
            # building User from them skips from_pydantic's per-field type walk (a tenth of this request).
            return User(**auth.UserOut.model_validate(profile).__dict__)
        # Otherwise ask auth. A plain (not async) resolver may return an awaitable: graphql-core awaits
        # it. Declared async, every `me` paid the awaitable machinery, the edge's answer too.
        return _me_from_auth(context)  # type: ignore[return-value]

    @operation_field(auth.SESSIONS)
    async def sessions(self, info: Info[Context, None]) -> list[Session]:
        return [Session.from_pydantic(s) for s in await info.context.invoke(auth.SESSIONS)]

    @operation_field(auth.API_KEYS)
    async def api_keys(self, info: Info[Context, None]) -> list[ApiKey]:
        return [ApiKey.from_pydantic(k) for k in await info.context.invoke(auth.API_KEYS)]

    @operation_field(auth.USERS)
    async def users(
        self,
        info: Info[Context, None],
        first: int = auth.UsersInput.model_fields["first"].default,
        after: str | None = None,
        search: str | None = None,
    ) -> UserConnection:
        page = await info.context.invoke(auth.USERS, {"first": first, "after": after, "search": search})
        return UserConnection(nodes=[User.from_pydantic(u) for u in page.items], page_info=PageInfo.from_page(page))

    @operation_field(auth.AUDIT_LOG)
    async def audit_log(
        self,
        info: Info[Context, None],
        filter: AuditFilter | None = None,
        first: int = auth.AuditLogInput.model_fields["first"].default,
        after: str | None = None,
    ) -> AuditEntryConnection:
        data = {"filter": strawberry.asdict(filter) if filter else None, "first": first, "after": after}
        page = await info.context.invoke(auth.AUDIT_LOG, data)
        return AuditEntryConnection(
            nodes=[AuditEntry.from_pydantic(e) for e in page.items], page_info=PageInfo.from_page(page)
        )
