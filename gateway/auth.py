"""Authentication at the edge: who is calling, decided without an RPC when possible.

* ``Authorization: Bearer <JWT>``: verified here (signature, algorithm, ``aud``,
  ``iss``, expiry), then one Redis round trip for revocation (session ended,
  user's token version bumped, API key revoked) and the revocation epoch. For a
  GraphQL request over HTTP that round trip also takes the rate limit
  (``admit``: one script reads the revocation facts, then charges the owner's
  window, or the address's when the token is revoked); elsewhere it is one MGET
  (``authenticate``). Revocation never fails open: when the epoch is missing
  (Redis restarted empty), auth republishes from its database before anything
  is decided; Redis unreachable is ``SERVICE_UNAVAILABLE``, never "valid".
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

from core.ratelimit import SLIDING_WINDOW_FUNCTION, AsyncLimiter, Decision, Limit, decision_of, window_args
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
REVOKED = {"reason": "revoked"}


# One round trip for a GraphQL request: the revocation facts and the profile (as ``authenticate``'s
# MGET), then the rate limit charged to the owner's window, or to the address's when the token is
# revoked (as when the caller is anonymous). The script only picks the window; whether the token is
# accepted is decided in Python from the facts it returns (``is_revoked``), so the rule has one home.
# With the epoch missing it charges nothing and returns the facts alone: the caller takes the slow
# path (republish, then decide).
# KEYS: 1 epoch, 2 user version, 3 session revoked, 4 API key revoked, 5 profile, 6 owner's window,
#       7 address's window. ARGV: 1 the token's version, 2 now_ms, 3 member (``window_args``), then
#       window_ms, limit and cost of 4-6 the owner's window, 7-9 the address's.
ADMIT_SCRIPT = (
    SLIDING_WINDOW_FUNCTION
    + """
local facts = redis.call('MGET', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
if not facts[1] then return facts end
local version = facts[2]
local revoked = facts[3] or facts[4] or (version and tonumber(version) ~= tonumber(ARGV[1]))
local a, key = 4, KEYS[6]
if revoked then a, key = 7, KEYS[7] end
local decision = sliding_window(
  key, tonumber(ARGV[2]), tonumber(ARGV[a]), tonumber(ARGV[a + 1]), ARGV[3], tonumber(ARGV[a + 2]))
facts[6], facts[7], facts[8] = decision[1], decision[2], decision[3]
return facts
"""
)


@dataclass(frozen=True)
class Verified:
    """A credential whose token verified (signature, claims); revocation not checked yet."""

    token: str
    claims: dict[str, Any]


@dataclass(frozen=True)
class Authenticated:
    identity: Identity
    token: str  # the access token services verify again
    claims: dict[str, Any]
    profile: dict[str, Any] | None = None  # cached by auth; only if read under this token's version


@dataclass(frozen=True)
class Admission:
    """``admit``'s answer: the caller (None when the token is revoked: ``error`` says so) and the
    rate limit's decision for the window charged (the owner's, or the address's when revoked)."""

    authenticated: Authenticated | None
    error: Unauthenticated | None
    decision: Decision


def session_ended() -> Unauthenticated:
    """What a revoked token gets: its session was signed out, its user deactivated or changed."""
    return Unauthenticated("The session has ended. Sign in again.", REVOKED)


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
        self._admit = redis.register_script(ADMIT_SCRIPT)

    async def verify(self, credential: str | None) -> Verified | None:
        """The credential's token, verified; not yet checked against revocation (``authenticate``,
        ``admit``). An API key is exchanged for its token first (an RPC unless cached)."""
        if not credential:
            return None
        if len(credential) > MAX_CREDENTIAL_LENGTH:
            raise Unauthenticated("The credential is invalid.", {"reason": "invalid"})
        token = await self._api_key_token(credential) if credential.startswith(API_KEY_PREFIX) else credential
        return Verified(token, self.codec.verify(token))

    async def authenticate(self, credential: str | None) -> Authenticated | None:
        verified = await self.verify(credential)
        return None if verified is None else await self.check(verified)

    async def check(self, verified: Verified) -> Authenticated:
        """Raises unless the token is known not to be revoked. One round trip: the epoch, the
        revocation facts and the cached profile."""
        claims = verified.claims
        profile = await self._check(claims, [profile_key(self.prefix, claims["sub"])])
        return Authenticated(identity_from_claims(claims), verified.token, claims, _profile(profile[0], claims))

    async def admit(
        self,
        verified: Verified,
        limiter: AsyncLimiter,
        owner: tuple[str, Limit, int],
        address: tuple[str, Limit, int],
    ) -> Admission | None:
        """``check`` and the rate limit in one round trip (``ADMIT_SCRIPT``). ``owner`` and ``address``
        are (window name, limit, cost): the owner's is charged when the token is not revoked, else the
        address's. None when the revocation epoch is missing: nothing was charged or decided, and the
        caller takes the slow path (``check``, which has auth republish, then the rate limit alone).
        Redis down is ``SERVICE_UNAVAILABLE``."""
        claims = verified.claims
        keys = [
            revocation_epoch_key(self.prefix),
            *revocation_keys(self.prefix, claims),
            profile_key(self.prefix, claims["sub"]),
            limiter.key(owner[0]),
            limiter.key(address[0]),
        ]
        now_ms, owner_window, owner_limit, member, owner_cost = window_args(owner[1], owner[2])
        address_limit = address[1]
        args = [
            int(claims.get("ver", 0)),
            now_ms,
            member,
            owner_window,
            owner_limit,
            owner_cost,
            address_limit.window_ms,
            address_limit.requests,
            address[2],
        ]
        try:
            reply: list[Any] = await self._admit(keys=keys, args=args)
        except RedisError as exc:
            if not is_redis_down(exc):
                raise
            raise redis_unavailable() from None
        if revocation_unknown(reply[0]):
            return None
        decision = decision_of(reply[5:8])
        if is_revoked(claims, reply[1:4]):  # the script charged the address's window
            return Admission(None, session_ended(), decision)
        authenticated = Authenticated(identity_from_claims(claims), verified.token, claims, _profile(reply[4], claims))
        return Admission(authenticated, None, decision)

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
            raise session_ended()

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
