"""API keys: created with a subset of the owner's permissions, listed, revoked, and exchanged
for short-lived access tokens carrying the key's scopes.

A key is ``ah_<id>_<secret>``; only the secret's SHA-256 digest is stored, and
it is compared in constant time (against a dummy digest when the id is unknown,
so a miss costs what a hit costs).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from core.tokens import TokenCodec
from schema.auth import ApiKeyGrant, ApiKeyInput, ApiKeyOut, CreatedApiKey
from schema.errors import BadUserInput, Forbidden, NotFound, Unauthenticated
from schema.models import ActorType, Identity, Outcome
from services.auth.audit import audit_row
from services.auth.common import RequestMeta, as_utc, digest, identifier, utcnow
from services.auth.models import ApiKey, User
from services.auth.revocations import Revocations
from services.auth.users import active_user
from services.common.settings import ServiceSettings

API_KEY_PREFIX = "ah_"
_DUMMY_DIGEST = hashlib.sha256(b"agenthub-no-such-api-key").hexdigest()


def api_key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        name=key.name,
        scopes=sorted(key.scopes),
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        expires_at=key.expires_at,
        revoked=key.revoked_at is not None,
    )


class ApiKeys:
    def __init__(
        self,
        session_factory: sessionmaker,
        settings: ServiceSettings,
        codec: TokenCodec,
        revocations: Revocations,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sf = session_factory
        self.settings = settings
        self.codec = codec
        self.revocations = revocations
        self.now = clock

    def create_api_key(self, identity: Identity, data: ApiKeyInput, meta: RequestMeta = RequestMeta()) -> CreatedApiKey:
        if identity.api_key_id:
            raise Forbidden("An API key cannot create API keys.")
        scopes = sorted({scope.value for scope in data.scopes})
        missing = [scope for scope in scopes if scope not in identity.permissions]
        if missing:
            raise BadUserInput.for_fields({"scopes": "not among your permissions: " + ", ".join(missing)})
        now = self.now()
        longest = now + timedelta(days=self.settings.api_key_max_days)
        expires_at = as_utc(data.expires_at) if data.expires_at else longest
        if expires_at <= now:
            raise BadUserInput.for_fields({"expiresAt": "must be in the future"})
        if expires_at > longest:
            raise BadUserInput.for_fields({"expiresAt": f"must be at most {self.settings.api_key_max_days} days away"})
        key_id, secret = uuid.uuid4().hex, secrets.token_urlsafe(32)
        row = ApiKey(
            id=key_id,
            user_id=identity.user_id,
            name=data.name,
            secret_hash=digest(secret),
            scopes=scopes,
            created_at=now,
            expires_at=expires_at,
        )
        with self.sf.begin() as session:
            active_user(session, identity)
            active = session.scalar(
                select(func.count())
                .select_from(ApiKey)
                .where(
                    ApiKey.user_id == identity.user_id,
                    ApiKey.revoked_at.is_(None),
                    (ApiKey.expires_at.is_(None)) | (ApiKey.expires_at > now),
                )
            )
            if active >= self.settings.api_key_max_per_user:
                raise BadUserInput(
                    f"You have {active} active API keys, the most allowed: revoke one first.",
                    {"reason": "too_many_keys", "limit": self.settings.api_key_max_per_user},
                )
            session.add(row)
            session.add(
                audit_row(
                    "api_key.create",
                    meta=meta,
                    identity=identity,
                    resource=f"api_key:{key_id}",
                    detail={"name": data.name, "scopes": " ".join(scopes)},
                    at=now,
                )
            )
        return CreatedApiKey(key=f"{API_KEY_PREFIX}{key_id}_{secret}", api_key=api_key_out(row))

    def api_keys(self, identity: Identity) -> list[ApiKeyOut]:
        with self.sf() as session:
            rows = session.scalars(
                select(ApiKey).where(ApiKey.user_id == identity.user_id).order_by(ApiKey.created_at.desc(), ApiKey.id)
            )
            return [api_key_out(row) for row in rows]

    def revoke_api_key(self, identity: Identity, key_id: Any, meta: RequestMeta = RequestMeta()) -> bool:
        key_id = identifier(key_id, "keyId")
        now = self.now()
        with self.sf.begin() as session:
            row = session.get(ApiKey, key_id)
            if row is None or row.user_id != identity.user_id:
                raise NotFound("No such API key.", {"resource": "api_key"})
            if row.revoked_at is None:
                row.revoked_at = now
            session.add(audit_row("api_key.revoke", meta=meta, identity=identity, resource=f"api_key:{key_id}", at=now))
        self.revocations.api_key_revoked(key_id, row.expires_at)
        return True

    def authenticate_api_key(self, key: Any, meta: RequestMeta = RequestMeta()) -> ApiKeyGrant:
        """Exchange an API key for a short-lived access token carrying the key's scopes."""
        invalid = Unauthenticated("The API key is invalid.", {"reason": "invalid"})
        if not isinstance(key, str) or not key.startswith(API_KEY_PREFIX) or len(key) > 200:
            raise invalid
        key_id, _, secret = key[len(API_KEY_PREFIX) :].partition("_")
        now = self.now()
        reason: str | None = None
        with self.sf.begin() as session:
            row = session.get(ApiKey, key_id) if len(key_id) == 32 and secret else None
            matches = hmac.compare_digest(digest(secret), row.secret_hash if row else _DUMMY_DIGEST)
            if row is None:
                raise invalid
            owner = session.get(User, row.user_id)
            if not matches:
                reason = "invalid"
            elif row.revoked_at is not None:
                reason = "revoked"
            elif row.expires_at is not None and row.expires_at <= now:
                reason = "expired"
            elif owner is None or not owner.active:
                reason = "inactive"
            if reason:
                session.add(
                    audit_row(
                        "api_key.authenticate",
                        outcome=Outcome.FAILURE,
                        meta=meta,
                        actor=row.user_id,
                        actor_type=ActorType.API_KEY,
                        api_key_id=row.id,
                        resource=f"api_key:{row.id}",
                        detail={"reason": reason},
                        at=now,
                    )
                )
            else:
                row.last_used_at = now
        if reason:
            messages = {
                "invalid": "The API key is invalid.",
                "revoked": "The API key has been revoked.",
                "expired": "The API key has expired.",
                "inactive": "The API key's owner is deactivated.",
            }
            raise Unauthenticated(messages[reason], {"reason": reason})
        ttl = self.settings.api_key_token_ttl
        if row.expires_at is not None:
            ttl = max(1, min(ttl, int((row.expires_at - now).total_seconds())))
        issued = self.codec.issue(
            subject=owner.id,
            role=owner.role,
            username=owner.username,
            api_key_id=row.id,
            scopes=list(row.scopes),
            ttl=ttl,
            version=owner.token_version,
        )
        cache_until = min(time.time() + self.settings.api_key_cache_seconds, float(issued.claims["exp"]))
        if row.expires_at is not None:
            cache_until = min(cache_until, row.expires_at.timestamp())
        return ApiKeyGrant(access_token=issued.token, api_key_id=row.id, user_id=owner.id, cache_until=cache_until)
