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
    instance: str | None = None  # which process answered: several may share the queue
    in_flight: int | None = None  # other calls this instance's workers are running (agenthub status)


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


class Outcome(str, Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


class AuditEvent(BaseModel):
    """One security-relevant event. Never carries a secret (no password, token or key).

    Services dispatch it as the Nameko event ``audit`` of their own service
    name (``services/common/audit.py``); the gateway publishes the same to
    ``gateway.events``; the auth service stores every one durably.
    """

    id: str | None = Field(None, pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    # ^ a uuid set where the action happens: a redelivered event carries the same id and is stored once
    action: str  # e.g. "login", "document.delete"
    outcome: Outcome = Outcome.SUCCESS
    actor: str | None = None  # user id, or None when anonymous
    actor_type: ActorType = ActorType.ANONYMOUS
    api_key_id: str | None = None
    resource: str | None = None  # e.g. "document:<id>"
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    detail: dict[str, str] = Field(default_factory=dict)
    at: float | None = None  # epoch seconds; set by the sender
