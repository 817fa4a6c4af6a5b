"""Real callers for service-class unit tests (Nameko's ``worker_factory``).

``Callers`` issues real access tokens and builds the real ``services.common.identity.Caller`` on
the real Redis under a private key prefix, so a unit test exercises the same token verification,
revocation lookup and permission check as a running service::

    service = worker_factory(AuthService, auth=domain, caller=callers.user(role="guest"))
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace

import redis

from core.tokens import TokenCodec, revocation_epoch_key, session_revoked_key
from schema.permissions import Permission
from services.common.identity import Caller
from services.common.settings import ServiceSettings
from tests.support.stack import REDIS_URL


@dataclass
class Callers:
    client: redis.Redis
    prefix: str = field(default_factory=lambda: f"agenthub-callers-{uuid.uuid4().hex[:10]}:")

    def __post_init__(self) -> None:
        self.settings = ServiceSettings(env="development", redis_prefix=self.prefix)
        self.codec = TokenCodec(self.settings)
        self.client.set(revocation_epoch_key(self.prefix), "test")  # the revocation state is known

    @classmethod
    def open(cls) -> Callers:
        return cls(redis.Redis.from_url(REDIS_URL))

    def close(self) -> None:
        keys = list(self.client.scan_iter(f"{self.prefix}*", count=1000))
        if keys:
            self.client.delete(*keys)
        self.client.close()

    def caller(self, token: str | None = None, **data: str) -> Caller:
        worker_ctx = SimpleNamespace(
            data={"auth_token": token, "request_id": "req-unit", **data}, call_id_stack=["test.unit.0"]
        )
        return Caller(worker_ctx, self.codec, self.client, self.prefix)

    def anonymous(self) -> Caller:
        return self.caller(None)

    def token(
        self,
        role: str = "user",
        *,
        scopes: list[Permission] | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
    ) -> str:
        """A session token of ``role``; with ``scopes``, an API key's token limited to them."""
        user_id = user_id or uuid.uuid4().hex
        if scopes is not None:
            return self.codec.issue(
                subject=user_id, role=role, api_key_id=uuid.uuid4().hex, scopes=[s.value for s in scopes]
            ).token
        return self.codec.issue(subject=user_id, role=role, session_id=session_id or uuid.uuid4().hex).token

    def user(self, role: str = "user", *, scopes: list[Permission] | None = None, **kwargs: str) -> Caller:
        return self.caller(self.token(role, scopes=scopes), **kwargs)

    def revoke_session(self, session_id: str) -> None:
        self.client.set(session_revoked_key(self.prefix, session_id), "1")
