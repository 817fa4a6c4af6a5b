"""``@auth(requires: …)`` and ``@authenticated``: one declaration that is both
printed in the SDL and enforced.

Usage::

    @strawberry.field(extensions=[requires(Permission.READ_RAG)])
    async def documents(self, info: Info[Context, None]) -> ...

    @strawberry.field(extensions=[requires()])        # any signed-in caller
    @strawberry.mutation(directives=public("sign-in")) # deliberately open

A field that calls one declared operation takes all of it from the declaration
(``schema/contract.py``): the directive, the check and the description::

    @operation_field(auth.ME)
    async def me(self, info: Info[Context, None]) -> User: ...

    @operation_field(auth.LOGIN, reason="signing in")  # a public operation says why it is open

The RBAC test (tests/e2e/test_rbac.py) reads these directives from the
schema and fails on any root field that has none; tests/unit/test_contract.py
checks that each operation's fields carry its access.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema_directive import Location
from strawberry.types import Info
from strawberry.types.field import StrawberryField

from schema.contract import Access, Operation
from schema.errors import Forbidden, Unauthenticated
from schema.permissions import Permission, Role

PermissionEnum = strawberry.enum(
    Permission, name="Permission", description="What a role grants, or an API key's scope."
)
RoleEnum = strawberry.enum(Role, name="Role", description="A user's role; it decides the permissions.")


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION, Location.OBJECT],
    description="The caller must be signed in and hold this permission.",
)
class Auth:
    requires: Permission  # the enum registered as PermissionEnum above


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION], description="The caller must be signed in; no particular permission."
)
class Authenticated:
    pass


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION], description="Anyone may call this field, signed in or not."
)
class Public:
    reason: str = ""


class _Requires(BasePermission):
    """Checks the principal the edge authenticated; raises the typed error itself."""

    permission: Permission | None = None

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        rule = {"requires": self.permission.name if self.permission else "AUTHENTICATED"}
        if info.context.principal is None:
            error = info.context.auth_error
            if isinstance(error, Unauthenticated):
                raise Unauthenticated(error.message, {**error.details, **rule})
            if error is not None:
                raise error  # e.g. the auth service was unreachable for an API key
            raise Unauthenticated("Sign in to do this.", rule)
        if self.permission is None or info.context.principal.can(self.permission):
            return True
        info.context.denied(self.permission.value, info.field_name)
        raise Forbidden(f"This needs the '{self.permission.value}' permission.", rule)


_classes: dict[Permission | None, type[_Requires]] = {}


def _permission_class(permission: Permission | None) -> type[_Requires]:
    if permission not in _classes:
        directive = Auth(requires=permission) if permission is not None else Authenticated()
        name = f"Requires_{permission.name}" if permission is not None else "RequiresSignIn"
        _classes[permission] = type(name, (_Requires,), {"permission": permission, "_schema_directive": directive})
    return _classes[permission]


def requires(permission: Permission | Access | None = None) -> PermissionExtension:
    """The check and its directive: a permission, or any signed-in caller (None, ``Access.AUTHENTICATED``)."""
    if permission is Access.PUBLIC:
        raise ValueError("a public field has no requirement: use directives=public(reason)")
    if permission is Access.AUTHENTICATED:
        permission = None
    return PermissionExtension(permissions=[_permission_class(permission)()], use_directives=True)


def public(reason: str) -> list[Any]:
    """Marks a field as deliberately open to anonymous callers."""
    return [Public(reason=reason)]


OPERATION_METADATA = "operation"


def operation_field(op: Operation[Any, Any], *, reason: str | None = None, **kwargs: Any) -> StrawberryField:
    """``strawberry.field`` (or, on a Mutation type, a mutation) for a resolver that calls ``op``:
    its access (``@auth``/``@authenticated`` and the check, or ``@public(reason)``) and its
    description come from the declaration. Other ``strawberry.field`` arguments pass through."""
    if op.access is Access.PUBLIC:
        if not reason:
            raise TypeError(f"{op.qualified_name} is public: say why with reason=...")
        kwargs["directives"] = [*public(reason), *kwargs.get("directives", ())]
    else:
        if reason is not None:
            raise TypeError(f"{op.qualified_name} is not public: reason= is for public operations")
        kwargs["extensions"] = [requires(op.access), *kwargs.get("extensions", ())]
    kwargs.setdefault("description", op.doc)
    kwargs["metadata"] = {**kwargs.get("metadata", {}), OPERATION_METADATA: op}
    field: StrawberryField = strawberry.field(**kwargs)
    return field


operation_mutation = operation_field  # reads better on a Mutation type; strawberry.mutation is strawberry.field
