"""Roles and the permissions each grants: the one RBAC matrix.

The gateway's ``@auth(requires: ...)`` directive and the services' own checks
both read this table.
"""

from __future__ import annotations

import json
import os
from enum import Enum
from functools import cache


class Permission(str, Enum):
    READ_AGENT = "read:agent"
    WRITE_AGENT = "write:agent"
    READ_RAG = "read:rag"
    WRITE_RAG = "write:rag"
    MANAGE_USERS = "manage:users"
    READ_SYSTEM = "read:system"
    WRITE_SYSTEM = "write:system"  # change the system's behaviour (the agent's system prompt)
    QUERY_SQL = "query:sql"  # the agent's database tool
    MANAGE_ACCOUNT = "manage:account"  # my sessions and API keys: a signed-in session has it, a key only if scoped


class Role(str, Enum):
    ADMIN = "admin"
    USER = "user"
    SERVICE_ACCOUNT = "service_account"
    GUEST = "guest"


_MEMBER = frozenset(
    {
        Permission.READ_AGENT,
        Permission.WRITE_AGENT,
        Permission.READ_RAG,
        Permission.WRITE_RAG,
        Permission.MANAGE_ACCOUNT,
    }
)

# The defaults; ``AGENTHUB_ROLE_GRANTS`` adds to them (``permissions_of``).
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.USER: _MEMBER,
    Role.SERVICE_ACCOUNT: _MEMBER,
    Role.GUEST: frozenset({Permission.READ_AGENT, Permission.MANAGE_ACCOUNT}),
}

ROLE_GRANTS_ENV = "AGENTHUB_ROLE_GRANTS"


def parse_role_grants(raw: str) -> dict[Role, frozenset[Permission]]:
    """``{"user": ["query:sql"]}``: permissions added to roles. Raises ValueError when malformed."""
    data = json.loads(raw) if raw.strip() else {}
    if not isinstance(data, dict):
        raise ValueError(f"{ROLE_GRANTS_ENV} must be a JSON object of role → list of permissions")
    return {Role(role): frozenset(Permission(p) for p in permissions) for role, permissions in data.items()}


@cache
def role_grants() -> dict[Role, frozenset[Permission]]:
    """The deployment's extra grants, read once per process (every process reads the same variable)."""
    return parse_role_grants(os.environ.get(ROLE_GRANTS_ENV, ""))


def permissions_of(role: str | Role) -> frozenset[Permission]:
    try:
        role = Role(role)
    except ValueError:
        return frozenset()
    return ROLE_PERMISSIONS[role] | role_grants().get(role, frozenset())
