"""Small helpers every auth aggregate uses: where a request came from, the clock,
secret digests, and the clipping and id checks of untrusted input."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from schema.errors import BadUserInput

MAX_ID_LENGTH = 100


@dataclass(frozen=True)
class RequestMeta:
    """Where a request came from, as the gateway put it in the RPC context."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


def utcnow() -> datetime:
    return datetime.now(UTC)


def digest(secret: str) -> str:
    """How refresh tokens and API key secrets are stored: SHA-256, never the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


def clip(value: str | None, length: int) -> str | None:
    return None if value is None else str(value)[:length]


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; they are UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def identifier(value: Any, field: str) -> str:
    """An id argument that did not come through a pydantic model: BAD_USER_INPUT naming ``field``."""
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
        raise BadUserInput.for_fields({field: f"must be an id of 1-{MAX_ID_LENGTH} characters"})
    return value
