"""The caller's identity inside a service, verified here again.

The gateway already verified the token; a service checks it once more (cheap)
so that a ``nameko shell`` or service-to-service caller gets no free pass.
"""

from __future__ import annotations

from typing import Any

import redis
from nameko.extensions import DependencyProvider

from core.tokens import (
    TokenCodec,
    identity_from_claims,
    is_revoked,
    revocation_epoch_key,
    revocation_keys,
    revocation_unknown,
)
from schema.errors import Forbidden, ServiceUnavailable, Unauthenticated
from schema.models import Identity
from services.common.dependencies import RedisPool
from services.common.settings import get_settings


class Caller:
    """Resolves the identity of one worker's caller on first use."""

    def __init__(self, worker_ctx: Any, codec: TokenCodec, redis_client: redis.Redis, prefix: str) -> None:
        self.data = dict(worker_ctx.data)
        self.request_id: str | None = self.data.get("request_id")
        self.auth_token: str | None = self.data.get("auth_token")
        self._worker_ctx = worker_ctx
        self.ip: str | None = self.data.get("client_ip")
        self.user_agent: str | None = self.data.get("user_agent")
        self._codec, self._redis, self._prefix = codec, redis_client, prefix
        self._identity: Identity | None = None
        self._claims: dict[str, Any] | None = None

    @property
    def call_id_stack(self) -> list[str]:
        """The worker's call-id stack, made when first asked for (a new call id is a uuid4)."""
        return list(self._worker_ctx.call_id_stack)

    def identity(self) -> Identity | None:
        """The verified identity, or None for an anonymous caller. Invalid or revoked: Unauthenticated."""
        if self._identity is None and self.auth_token:
            claims = self._codec.verify(self.auth_token)
            epoch, *values = self._redis.mget(
                [revocation_epoch_key(self._prefix), *revocation_keys(self._prefix, claims)]
            )
            if revocation_unknown(epoch):
                # Redis lost the revocation state; auth republishes it within seconds.
                # Until then nothing is accepted: missing is never "valid".
                raise ServiceUnavailable("Sign-in state is being restored. Try again shortly.", {"dependency": "redis"})
            if is_revoked(claims, values):
                raise Unauthenticated("The session has ended.", {"reason": "revoked"})
            self._identity, self._claims = identity_from_claims(claims), claims
        return self._identity

    def still_valid(self) -> None:
        """Raise ``Unauthenticated`` if the caller's token was revoked since (logout, session revoked,
        user deactivated or role changed). Long work (an agent run) calls it before each step."""
        if self._claims is not None and is_revoked(
            self._claims, self._redis.mget(revocation_keys(self._prefix, self._claims))
        ):
            raise Unauthenticated("The session has ended.", {"reason": "revoked"})

    def require(self, permission: str | None = None) -> Identity:
        identity = self.identity()
        if identity is None:
            raise Unauthenticated("Sign in to do this.")
        if permission is not None and not identity.can(permission):
            raise Forbidden(f"This needs the '{getattr(permission, 'value', permission)}' permission.")
        return identity


class CallerProvider(DependencyProvider):
    """Injects a ``Caller`` for the current worker."""

    pool = RedisPool()

    def setup(self) -> None:
        settings = get_settings()
        self.codec = TokenCodec(settings)
        self.prefix = settings.redis_prefix

    def get_dependency(self, worker_ctx: Any) -> Caller:
        return Caller(worker_ctx, self.codec, self.pool.client(), self.prefix)
