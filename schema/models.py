"""RPC payload models, declared once and imported by services and gateway.

Services return ``model.model_dump(mode="json")``; the gateway validates the
reply with the same model, so a drift in either side fails loudly.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field


class Status(str, Enum):
    UP = "UP"
    DOWN = "DOWN"


class DependencyHealth(BaseModel):
    name: str
    status: Status
    detail: str = ""


class ServiceHealth(BaseModel):
    """What a service's ``health()`` RPC returns."""

    name: str
    version: str
    status: Status
    dependencies: list[DependencyHealth] = Field(default_factory=list)


class ActorType(str, Enum):
    USER = "user"
    API_KEY = "api_key"
    ANONYMOUS = "anonymous"


class Identity(BaseModel):
    """Who a request acts for, as every service sees it after verifying the token.

    For an API key, ``permissions`` are the key's scopes (a subset of its
    owner's), and ``user_id`` is the owner.
    """

    user_id: str
    username: str = ""
    role: str
    permissions: frozenset[str]
    session_id: str | None = None
    api_key_id: str | None = None

    @property
    def actor_type(self) -> ActorType:
        return ActorType.API_KEY if self.api_key_id else ActorType.USER

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can(self, permission: str) -> bool:
        return str(getattr(permission, "value", permission)) in self.permissions
