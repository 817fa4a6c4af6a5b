"""``@auth(requires: ...)``: one declaration that is both printed in the SDL
and enforced.

Usage::

    @strawberry.field(extensions=[requires(Permission.READ_RAG)])
    async def documents(self, info: Info[Context, None]) -> ...

``requires()`` with no permission means: any signed-in caller.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema_directive import Location
from strawberry.types import Info

from schema.errors import Forbidden, Unauthenticated
from schema.permissions import Permission


@strawberry.enum(name="Permission", description="What a role or an API key scope allows.")
class PermissionEnum(Enum):
    READ_AGENT = "read:agent"
    WRITE_AGENT = "write:agent"
    READ_RAG = "read:rag"
    WRITE_RAG = "write:rag"
    MANAGE_USERS = "manage:users"
    READ_SYSTEM = "read:system"
    AUTHENTICATED = "authenticated"


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION, Location.OBJECT],
    description="The caller must be signed in and hold this permission.",
)
class Auth:
    requires: PermissionEnum


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    description="Anyone may call this field, signed in or not.",
)
class Public:
    reason: str = ""


class _Requires(BasePermission):
    """Checks the principal the edge authenticated against one permission."""

    permission: PermissionEnum

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        if principal is None:
            raise Unauthenticated("Sign in to do this.")
        if self.permission is PermissionEnum.AUTHENTICATED or self.permission.value in principal.permissions:
            return True
        info.context.denied(self.permission.value, info.field_name)
        raise Forbidden(f"This needs the '{self.permission.value}' permission.")


_classes: dict[PermissionEnum, type[_Requires]] = {}


def _permission_class(permission: PermissionEnum) -> type[_Requires]:
    if permission not in _classes:
        _classes[permission] = type(
            f"Requires_{permission.name}",
            (_Requires,),
            {"permission": permission, "_schema_directive": Auth(requires=permission)},
        )
    return _classes[permission]


def requires(permission: Permission | None = None) -> PermissionExtension:
    enum = PermissionEnum(permission.value) if permission is not None else PermissionEnum.AUTHENTICATED
    return PermissionExtension(permissions=[_permission_class(enum)()], use_directives=True)


def public(reason: str = "") -> list[Any]:
    """Marks a field as deliberately open; the RBAC test treats unmarked fields as bugs."""
    return [Public(reason=reason)]
