"""Access tokens: signing (auth service only) and verification (everyone).

The accepted algorithm is exactly the configured one: a token claiming any
other ``alg`` (``none``, or HS256 signed with an RS256 public key) is refused.
Revocation lives in Redis under keys built here, so the gateway and the
services check the same facts.

A token that verified once is remembered (``VERIFIED_CACHE`` tokens per process)
until it expires: its signature and claims cannot change, and PyJWT's decoding
(base64 checked character by character in Python) was the largest CPU cost of
an authenticated request after the GraphQL layer. Only the verification is
remembered; revocation is looked up in Redis on every request as before.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt

from core.settings import CommonSettings
from schema.errors import Unauthenticated
from schema.models import Identity
from schema.permissions import permissions_of

REQUIRED_CLAIMS = ["sub", "role", "jti", "iat", "exp", "iss", "aud", "typ", "ver"]
LEEWAY_SECONDS = 5
VERIFIED_CACHE = 4096


@dataclass(frozen=True)
class IssuedToken:
    token: str
    claims: dict[str, Any]


class TokenCodec:
    def __init__(self, settings: CommonSettings) -> None:
        self.algorithm = settings.jwt_algorithm
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.ttl = settings.access_token_ttl
        if self.algorithm == "HS256":
            self._signing_key: Any = settings.jwt_secret_value()
            self._verifying_key: Any = self._signing_key
        else:
            self._signing_key = _read(settings.jwt_private_key_file)
            self._verifying_key = _read(settings.jwt_public_key_file)
        if self._verifying_key is not None:  # parsed once, not at every verification
            self._verifying_key = jwt.get_algorithm_by_name(self.algorithm).prepare_key(self._verifying_key)
        self._verified: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def issue(
        self,
        *,
        subject: str,
        role: str,
        username: str = "",
        session_id: str | None = None,
        api_key_id: str | None = None,
        scopes: list[str] | None = None,
        version: int = 0,
        ttl: int | None = None,
        now: float | None = None,
    ) -> IssuedToken:
        if self._signing_key is None:
            raise RuntimeError("this process has no signing key")
        issued_at = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "sub": subject,
            "role": role,
            "name": username,
            "jti": uuid.uuid4().hex,
            "iat": issued_at,
            "exp": issued_at + (ttl or self.ttl),
            "iss": self.issuer,
            "aud": self.audience,
            "typ": "access",
            "ver": version,
        }
        if session_id:
            claims["sid"] = session_id
        if api_key_id:
            claims["akid"] = api_key_id
            claims["scp"] = sorted(scopes or [])
        return IssuedToken(jwt.encode(claims, self._signing_key, algorithm=self.algorithm), claims)

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or ``Unauthenticated`` naming nothing an attacker could use."""
        claims = self._verified.get(token)
        if claims is not None:
            if claims["exp"] <= time.time() - LEEWAY_SECONDS:  # PyJWT's own expiry rule
                self._verified.pop(token, None)
                raise Unauthenticated("The access token has expired.", {"reason": "expired"})
            return dict(claims)
        claims = self._decode(token)
        self._verified[token] = claims
        while len(self._verified) > VERIFIED_CACHE:
            self._verified.popitem(last=False)  # the oldest verified first
        return dict(claims)

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            claims = jwt.decode(
                token,
                self._verifying_key,
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("The access token has expired.", {"reason": "expired"}) from None
        except jwt.PyJWTError:
            raise Unauthenticated("The access token is invalid.", {"reason": "invalid"}) from None
        if claims.get("typ") != "access" or not (claims.get("sid") or claims.get("akid")):
            raise Unauthenticated("The access token is invalid.", {"reason": "invalid"})
        return claims


def identity_from_claims(claims: dict[str, Any]) -> Identity:
    scopes = claims.get("scp")
    return Identity(
        user_id=claims["sub"],
        username=claims.get("name", ""),
        role=claims["role"],
        permissions=_permissions(claims["role"], None if scopes is None else tuple(scopes)),
        session_id=claims.get("sid"),
        api_key_id=claims.get("akid"),
    )


@lru_cache(maxsize=1024)
def _permissions(role: str, scopes: tuple[str, ...] | None) -> frozenset[str]:
    """A role's permissions, narrowed to an API key's scopes: the same few pairs on every request."""
    permissions = {p.value for p in permissions_of(role)}
    if scopes is not None:
        permissions &= set(scopes)
    return frozenset(permissions)


def session_revoked_key(prefix: str, session_id: str) -> str:
    return f"{prefix}auth:session-revoked:{session_id}"


def api_key_revoked_key(prefix: str, api_key_id: str) -> str:
    return f"{prefix}auth:apikey-revoked:{api_key_id}"


def user_version_key(prefix: str, user_id: str) -> str:
    """The user's current token version. Bumped on role change and deactivation,
    it invalidates every token issued before (their ``ver`` no longer matches).
    Only bumped versions are written: with the revocation epoch present, a missing
    key is version 0."""
    return f"{prefix}auth:user-version:{user_id}"


def revocation_epoch_key(prefix: str) -> str:
    """Written by auth last, with the whole revocation state republished from its database;
    its value is the Redis server's ``run_id`` then. Missing (Redis restarted empty, or
    flushed), the revocation keys cannot be trusted to be complete: the edge asks auth to
    republish before it accepts any token. From another ``run_id`` (Redis restarted with
    older data), auth's timer republishes within seconds."""
    return f"{prefix}auth:revocation-epoch"


SET_MAX_SCRIPT = """
local current = redis.call('GET', KEYS[1])
if (not current) or tonumber(current) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0
"""
"""Token versions only grow: a slow writer holding an old version never lowers the key."""


def profile_key(prefix: str, user_id: str) -> str:
    """The user's profile (email, active, created) as the auth service last read it,
    so the edge answers ``me`` without an RPC. Tagged with the token version it
    was read under, and ignored for tokens of any other version."""
    return f"{prefix}auth:profile:{user_id}"


PROFILE_TTL_SECONDS = 300


def revocation_keys(prefix: str, claims: dict[str, Any]) -> list[str]:
    """Keys to MGET for one token; ``is_revoked`` reads the values in this order."""
    return [
        user_version_key(prefix, claims["sub"]),
        session_revoked_key(prefix, claims["sid"]) if claims.get("sid") else f"{prefix}auth:none",
        api_key_revoked_key(prefix, claims["akid"]) if claims.get("akid") else f"{prefix}auth:none",
    ]


def is_revoked(claims: dict[str, Any], values: list[Any]) -> bool:
    """Revoked by what Redis holds; pair with ``revocation_unknown`` (a missing key is not "valid")."""
    version, session_revoked, key_revoked = values
    if version is not None and int(version) != int(claims.get("ver", 0)):
        return True
    return session_revoked is not None or key_revoked is not None


def revocation_unknown(epoch: Any) -> bool:
    """True when Redis cannot answer for any token: the epoch is missing, so the revocation
    state may be incomplete. The caller asks auth to republish, or refuses; it never accepts."""
    return epoch is None


def _read(path: Path | None) -> bytes | None:
    return Path(path).read_bytes() if path else None
