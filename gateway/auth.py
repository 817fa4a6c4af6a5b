"""Authentication at the edge: who is calling, decided without an RPC when possible.

* ``Authorization: Bearer <JWT>``: verified here (signature, algorithm, ``aud``,
  ``iss``, expiry), then one Redis MGET for revocation (session ended, user's
  token version bumped, API key revoked) and the revocation epoch. Revocation
  never fails open: when the epoch is missing (Redis restarted empty), auth
  republishes from its database before anything is decided; Redis unreachable
  is ``SERVICE_UNAVAILABLE``, never "valid".
* ``Authorization: Bearer ah_…`` or ``X-API-Key: ah_…``: the auth service
  verifies the key once and returns a short-lived access token carrying the
  key's scopes; it is cached here (by the key's SHA-256) for at most
  ``api_key_cache_seconds``, and its revocation is checked in Redis on every
  request like any token.

A bad credential is never silently ignored: the caller becomes anonymous with an
``Unauthenticated`` error kept for the first field that needs a principal.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.redis_client import is_redis_down, redis_unavailable
from core.tokens import (
    TokenCodec,
    identity_from_claims,
    is_revoked,
    profile_key,
    revocation_epoch_key,
    revocation_keys,
    revocation_unknown,
)
from gateway.invoke import invoke
from gateway.rpc import RpcClient
from gateway.settings import GatewaySettings
from schema import auth
from schema.errors import Unauthenticated
from schema.models import Identity

API_KEY_PREFIX = "ah_"
MAX_CREDENTIAL_LENGTH = 4096
CACHE_SIZE = 10_000


@dataclass(frozen=True)
class Authenticated:
    identity: Identity
    token: str  # the access token services verify again
    claims: dict[str, Any]
    profile: dict[str, Any] | None = None  # cached by auth; only if read under this token's version


def _profile(raw: bytes | None, claims: dict[str, Any]) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        profile = json.loads(raw)
    except ValueError:
        return None
    if (
        not isinstance(profile, dict)
        or profile.get("version") != claims.get("ver")
        or profile.get("id") != claims["sub"]
    ):
        return None
    return profile


def credential_from(headers: Mapping[str, str], params: Mapping[str, Any] | None = None) -> str | None:
    """The credential of an HTTP request, or of a WebSocket's ``connection_init`` payload."""
    sources = [headers]
    if params:
        sources.insert(0, {str(k).lower(): str(v) for k, v in params.items() if isinstance(v, str)})
    for source in sources:
        authorization = source.get("authorization")
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise Unauthenticated("Use 'Authorization: Bearer <token or API key>'.", {"reason": "malformed"})
            return value.strip()
        api_key = source.get("x-api-key") or source.get("apikey") or source.get("api_key")
        if api_key:
            return api_key.strip()
    return None


class EdgeAuthenticator:
    def __init__(self, settings: GatewaySettings, redis: Redis, rpc: RpcClient) -> None:
        self.codec = TokenCodec(settings)
        self.prefix = settings.redis_prefix
        self.redis = redis
        self.rpc = rpc
        self.cache_seconds = settings.api_key_cache_seconds
        self._grants: OrderedDict[str, auth.ApiKeyGrant] = OrderedDict()
        self._republishing: asyncio.Future[bool] | None = None

    async def authenticate(self, credential: str | None) -> Authenticated | None:
        if not credential:
            return None
        if len(credential) > MAX_CREDENTIAL_LENGTH:
            raise Unauthenticated("The credential is invalid.", {"reason": "invalid"})
        token = await self._api_key_token(credential) if credential.startswith(API_KEY_PREFIX) else credential
        claims = self.codec.verify(token)
        # One round trip: the epoch, the revocation facts and the cached profile.
        profile = await self._check(claims, [profile_key(self.prefix, claims["sub"])])
        return Authenticated(identity_from_claims(claims), token, claims, _profile(profile[0], claims))

    async def check_revocation(self, claims: dict[str, Any]) -> None:
        await self._check(claims)

    async def _check(self, claims: dict[str, Any], extra_keys: Sequence[str] = ()) -> list[Any]:
        """Raises unless the token is known not to be revoked; returns the values of ``extra_keys``."""
        keys = [revocation_epoch_key(self.prefix), *revocation_keys(self.prefix, claims), *extra_keys]
        epoch, *values = await self._mget(keys)
        if revocation_unknown(epoch):
            await self.republish()
            epoch, *values = await self._mget(keys)
            if revocation_unknown(epoch):  # republished, and already gone again: cannot decide
                raise redis_unavailable()
        self._raise_if_revoked(claims, values[:3])
        return values[3:]

    async def republish(self) -> None:
        """Asks auth to republish from its database: one call in flight, however many requests wait."""
        if self._republishing is None or self._republishing.done():
            self._republishing = asyncio.ensure_future(invoke(self.rpc, auth.PUBLISH_REVOCATIONS))
        await asyncio.shield(self._republishing)

    async def _mget(self, keys: list[str]) -> list[Any]:
        """Redis down means "cannot decide": SERVICE_UNAVAILABLE, never anonymous and never valid."""
        try:
            values: list[Any] = await self.redis.mget(keys)
            return values
        except RedisError as exc:
            if not is_redis_down(exc):
                raise
            raise redis_unavailable() from None

    @staticmethod
    def _raise_if_revoked(claims: dict[str, Any], values: list[Any]) -> None:
        if is_revoked(claims, values):
            raise Unauthenticated("The session has ended. Sign in again.", {"reason": "revoked"})

    async def _api_key_token(self, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()
        grant = self._grants.get(digest)
        if grant is not None and grant.cache_until > time.time():
            self._grants.move_to_end(digest)
            return grant.access_token
        self._grants.pop(digest, None)
        grant = await invoke(self.rpc, auth.AUTHENTICATE_API_KEY, {"key": key})
        grant = grant.model_copy(update={"cache_until": min(grant.cache_until, time.time() + self.cache_seconds)})
        self._grants[digest] = grant
        while len(self._grants) > CACHE_SIZE:
            self._grants.popitem(last=False)
        return grant.access_token
