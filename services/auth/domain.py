"""The auth domain: its aggregates wired together once per process.

Plain code, testable without AMQP or eventlet: the service's entrypoints call
one method of one aggregate with the caller's verified ``Identity`` (or none,
for the methods that establish one) and serialise the model it returns.

=================  ==========================================================
``users``          registration, ``me``, the admins' list, roles, deactivation
``sessions``       login, refresh-token rotation, logout, the owner's sessions
``api_keys``       API keys and their exchange for access tokens
``audit``          the audit log: events from elsewhere, reads, retention
``revocations``    revocation state in Redis, republished from the database
=================  ==========================================================

Rules that hold everywhere:

* A secret never reaches the database or the audit log: passwords as Argon2id
  hashes, refresh tokens and API key secrets as SHA-256 hashes.
* Audit rows are written in the same transaction as the change they describe.
* No Redis call and no password hashing happens while a database transaction
  is open (SQLite's lock must never be held across an eventlet switch).
* Revocation is written to Redis after the commit (``revocations.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import sessionmaker

from core.ratelimit import Limit
from core.tokens import TokenCodec
from services.auth.api_keys import ApiKeys
from services.auth.audit import AuditLog
from services.auth.common import utcnow
from services.auth.passwords import Passwords
from services.auth.revocations import Revocations
from services.auth.sessions import Sessions
from services.auth.throttle import LoginThrottle
from services.auth.users import Users
from services.common.settings import ServiceSettings


@dataclass(frozen=True)
class AuthDomain:
    users: Users
    sessions: Sessions
    api_keys: ApiKeys
    audit: AuditLog
    revocations: Revocations
    sf: sessionmaker
    redis: object
    settings: ServiceSettings
    codec: TokenCodec

    @property
    def prefix(self) -> str:
        return self.settings.redis_prefix

    @classmethod
    def build(
        cls,
        session_factory: sessionmaker,
        redis_client,
        settings: ServiceSettings,
        codec: TokenCodec | None = None,
        passwords: Passwords | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> AuthDomain:
        codec = codec or TokenCodec(settings)
        passwords = passwords or Passwords(
            settings.password_time_cost, settings.password_memory_cost, settings.password_parallelism
        )
        clock = clock or utcnow
        throttle = LoginThrottle(
            redis_client,
            settings.redis_prefix,
            pair=Limit.parse(settings.login_user_rate_limit),
            ip=Limit.parse(settings.login_ip_rate_limit),
            username=Limit.parse(settings.login_username_rate_limit),
        )
        audit = AuditLog(session_factory, settings, clock)
        revocations = Revocations(session_factory, redis_client, settings, clock)
        return cls(
            users=Users(session_factory, redis_client, settings, passwords, audit, revocations, clock),
            sessions=Sessions(session_factory, settings, codec, passwords, throttle, audit, revocations, clock),
            api_keys=ApiKeys(session_factory, settings, codec, revocations, clock),
            audit=audit,
            revocations=revocations,
            sf=session_factory,
            redis=redis_client,
            settings=settings,
            codec=codec,
        )
