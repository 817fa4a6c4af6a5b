"""Roles and the permissions each grants: the one RBAC matrix.

The gateway's ``@auth(requires: ...)`` directive and the services' own checks
both read this table.
"""

from __future__ import annotations

from enum import Enum


class Permission(str, Enum):
    READ_AGENT = "read:agent"
    WRITE_AGENT = "write:agent"
    READ_RAG = "read:rag"
    WRITE_RAG = "write:rag"
    MANAGE_USERS = "manage:users"
    READ_SYSTEM = "read:system"


class Role(str, Enum):
    ADMIN = "admin"
    USER = "user"
    SERVICE_ACCOUNT = "service_account"
    GUEST = "guest"


_MEMBER = frozenset({Permission.READ_AGENT, Permission.WRITE_AGENT, Permission.READ_RAG, Permission.WRITE_RAG})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.USER: _MEMBER,
    Role.SERVICE_ACCOUNT: _MEMBER,
    Role.GUEST: frozenset({Permission.READ_AGENT}),
}


def permissions_of(role: str | Role) -> frozenset[Permission]:
    try:
        return ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return frozenset()
