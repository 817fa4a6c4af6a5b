"""RPC payloads of the auth service, shared by the service and the gateway.

RPC methods of ``auth`` (identity always from the verified RPC context, never
from arguments, except where the method exists to establish it):

=============================  ==========================================  =================
method                         arguments → result                          who
=============================  ==========================================  =================
register(data)                 RegisterInput → UserOut                     anyone
login(data)                    LoginInput → TokenPair                      anyone
refresh(refresh_token)         str → TokenPair                             holder of the token
logout()                       → bool                                      signed-in (session)
me()                           → UserOut                                   signed-in
sessions()                     → list[SessionOut]                          signed-in
revoke_session(session_id)     str → bool                                  owner of the session
create_api_key(data)           ApiKeyInput → CreatedApiKey                 signed-in user
api_keys()                     → list[ApiKeyOut]                           signed-in
revoke_api_key(key_id)         str → bool                                  owner
authenticate_api_key(key)      str → ApiKeyGrant                           the gateway
users(first, after, search)    → Page[UserOut]                             manage:users
set_user_role(user_id, role)   → UserOut                                   manage:users
set_user_active(user_id, act)  → UserOut                                   manage:users
audit_log(filter, first, after) AuditFilter → Page[AuditEntryOut]          read:system
record_audit(event)            AuditEvent → None                           services / gateway
=============================  ==========================================  =================
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from schema.permissions import Permission, Role
from schema.validation import plain_text

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,50}$")
T = TypeVar("T")


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RegisterInput(_Input):
    username: str = Field(max_length=50)
    password: str = Field(max_length=128)
    email: EmailStr | None = Field(None, max_length=254)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        if not USERNAME_PATTERN.match(value):
            raise ValueError("must be 3-50 characters: letters, digits, '_', '.' or '-'")
        return value

    @field_validator("password")
    @classmethod
    def _password_length(cls, value: str) -> str:
        if len(value) < 8:
            raise ValueError("must be at least 8 characters")
        return value

    @model_validator(mode="after")
    def _password_not_username(self) -> "RegisterInput":
        if self.username and self.username.lower() in self.password.lower():
            raise ValueError_for("password", "must not contain the username")
        return self


class LoginInput(_Input):
    username: str = Field(min_length=1, max_length=50)
    password: str = Field(min_length=1, max_length=128)


class ApiKeyInput(_Input):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Permission] = Field(min_length=1, max_length=len(Permission))
    expires_at: datetime | None = None  # none: the longest allowed (AGENTHUB_API_KEY_MAX_DAYS)

    _plain = field_validator("name")(classmethod(lambda cls, v: plain_text(v)))


class AuditFilter(_Input):
    actor: str | None = Field(None, max_length=100)
    action: str | None = Field(None, max_length=100)
    since: datetime | None = None
    until: datetime | None = None


class PageArgs(_Input):
    first: int = Field(20, ge=1, le=100)
    after: str | None = Field(None, max_length=200)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


class UserOut(BaseModel):
    id: str
    username: str
    email: str | None
    role: Role
    active: bool
    permissions: list[Permission]
    created_at: datetime


class SessionOut(BaseModel):
    id: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    current: bool = False


class ApiKeyOut(BaseModel):
    id: str
    name: str
    scopes: list[Permission]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked: bool = False


class CreatedApiKey(BaseModel):
    """The only time the key itself is ever shown."""

    key: str
    api_key: ApiKeyOut


class ApiKeyGrant(BaseModel):
    """What the gateway gets for a valid API key: a short-lived access token
    carrying the key's scopes, which it may cache until ``cache_until``."""

    access_token: str
    api_key_id: str
    user_id: str
    cache_until: float


class AuditEntryOut(BaseModel):
    id: str
    at: datetime
    actor: str | None
    actor_type: str
    api_key_id: str | None
    action: str
    resource: str | None
    outcome: str
    ip: str | None
    user_agent: str | None
    request_id: str | None
    detail: dict[str, str]


class Page(BaseModel, Generic[T]):
    items: list[T]
    end_cursor: str | None
    has_next_page: bool



def ValueError_for(field: str, rule: str) -> ValueError:  # noqa: N802 - reads as a constructor
    """A model-level rule reported against one field (``schema.validation`` splits it)."""
    return ValueError(f"{field}: {rule}")
