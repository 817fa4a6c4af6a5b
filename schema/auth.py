"""The auth service's contract: its RPC payloads and operations, shared by the service and the gateway.

Identity always comes from the verified RPC context, never from arguments, except in the public
operations that exist to establish one (register, login, refresh, authenticate_api_key). The
operations are declared at the end of this module (``schema/contract.py``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictBool, field_validator, model_validator

from schema.contract import Access, Operation
from schema.models import AuditEvent
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
    def _password_not_username(self) -> RegisterInput:
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


class UsersInput(PageArgs):
    search: str | None = Field(None, max_length=100)


class AuditLogInput(_Input):
    filter: AuditFilter = Field(default_factory=AuditFilter)
    first: int = Field(50, ge=1, le=100)  # the GraphQL default (the service's was 20)
    after: str | None = Field(None, max_length=200)

    @property
    def page(self) -> PageArgs:
        return PageArgs(first=self.first, after=self.after)


class RefreshInput(_Input):
    refresh_token: str  # the domain says what is wrong with it (always BAD_USER_INPUT or UNAUTHENTICATED)


class ApiKeyCredential(_Input):
    key: str  # anything else than a valid key is UNAUTHENTICATED, from the domain


class SessionRef(_Input):
    session_id: str


class ApiKeyRef(_Input):
    key_id: str


class SetUserRoleInput(_Input):
    user_id: str
    role: Role


class SetUserActiveInput(_Input):
    user_id: str
    active: StrictBool


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


# ---------------------------------------------------------------- operations
# The wire is unchanged: register/login/create_api_key/record_audit take their input as one dict
# argument (``argument=``); the others take the input model's fields as arguments.

REGISTER: Operation[RegisterInput, UserOut] = Operation(
    "auth", "register", RegisterInput, UserOut, Access.PUBLIC, "Create a user account.", argument="data"
)
LOGIN: Operation[LoginInput, TokenPair] = Operation(
    "auth", "login", LoginInput, TokenPair, Access.PUBLIC, "Sign in: an access and a refresh token.", argument="data"
)
REFRESH: Operation[RefreshInput, TokenPair] = Operation(
    "auth",
    "refresh",
    RefreshInput,
    TokenPair,
    Access.PUBLIC,
    "Trade a refresh token for a new pair; each refresh token works once.",
)
AUTHENTICATE_API_KEY: Operation[ApiKeyCredential, ApiKeyGrant] = Operation(
    "auth",
    "authenticate_api_key",
    ApiKeyCredential,
    ApiKeyGrant,
    Access.PUBLIC,
    "Exchange an API key for a short-lived access token carrying its scopes (the gateway caches it).",
)

LOGOUT: Operation[None, bool] = Operation(
    "auth", "logout", None, bool, Access.AUTHENTICATED, "End this session: its tokens stop working now."
)
ME: Operation[None, UserOut] = Operation("auth", "me", None, UserOut, Access.AUTHENTICATED, "The signed-in account.")

SESSIONS: Operation[None, list[SessionOut]] = Operation(
    "auth", "sessions", None, list[SessionOut], Permission.MANAGE_ACCOUNT, "My active sessions."
)
REVOKE_SESSION: Operation[SessionRef, bool] = Operation(
    "auth", "revoke_session", SessionRef, bool, Permission.MANAGE_ACCOUNT, "End one of my sessions."
)
CREATE_API_KEY: Operation[ApiKeyInput, CreatedApiKey] = Operation(
    "auth",
    "create_api_key",
    ApiKeyInput,
    CreatedApiKey,
    Permission.MANAGE_ACCOUNT,
    "Create an API key with some of my permissions.",
    argument="data",
)
API_KEYS: Operation[None, list[ApiKeyOut]] = Operation(
    "auth", "api_keys", None, list[ApiKeyOut], Permission.MANAGE_ACCOUNT, "My API keys (never the keys themselves)."
)
REVOKE_API_KEY: Operation[ApiKeyRef, bool] = Operation(
    "auth",
    "revoke_api_key",
    ApiKeyRef,
    bool,
    Permission.MANAGE_ACCOUNT,
    "Revoke one of my API keys; it fails from now on.",
)

USERS: Operation[UsersInput, Page[UserOut]] = Operation(
    "auth", "users", UsersInput, Page[UserOut], Permission.MANAGE_USERS, "Every account, paged."
)
SET_USER_ROLE: Operation[SetUserRoleInput, UserOut] = Operation(
    "auth", "set_user_role", SetUserRoleInput, UserOut, Permission.MANAGE_USERS, "Change a user's role."
)
SET_USER_ACTIVE: Operation[SetUserActiveInput, UserOut] = Operation(
    "auth",
    "set_user_active",
    SetUserActiveInput,
    UserOut,
    Permission.MANAGE_USERS,
    "Deactivate or reactivate a user; deactivation ends every session and key at once.",
)
AUDIT_LOG: Operation[AuditLogInput, Page[AuditEntryOut]] = Operation(
    "auth", "audit_log", AuditLogInput, Page[AuditEntryOut], Permission.READ_SYSTEM, "Security events, newest first."
)

# Called by the gateway and tests, not exposed in GraphQL; public as before (any broker client may
# equally publish an audit event, and a republish only rewrites Redis from the database).
PUBLISH_REVOCATIONS: Operation[None, bool] = Operation(
    "auth",
    "publish_revocations",
    None,
    bool,
    Access.PUBLIC,
    "The edge found the revocation epoch missing in Redis: republish from the database (the truth) "
    "unless another caller just did. True when this call republished.",
)
RECORD_AUDIT: Operation[AuditEvent, None] = Operation(
    "auth", "record_audit", AuditEvent, None, Access.PUBLIC, "Store one audit event durably.", argument="event"
)
