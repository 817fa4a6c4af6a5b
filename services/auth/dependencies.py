"""The auth service's dependency: the domain, built once per process in ``setup()``."""

from __future__ import annotations

import logging

from nameko.extensions import DependencyProvider

from core.tokens import TokenCodec
from services.auth.common import RequestMeta
from services.auth.db import make_engine, migrate, session_factory
from services.auth.domain import AuthDomain
from services.common.dependencies import RedisPool
from services.common.settings import get_settings

log = logging.getLogger("agenthub.auth")


class Auth(DependencyProvider):
    """Migrates the database, connects, republishes revocations to Redis; injects ``AuthDomain``
    (the aggregates: ``self.auth.users``, ``.sessions``, ``.api_keys``, ``.audit``, ``.revocations``)."""

    pool = RedisPool()

    def setup(self) -> None:
        settings = get_settings()
        url = settings.auth_database_url()
        migrate(url)
        max_workers = int(self.container.config.get("max_workers", 10) or 10)
        self.engine = make_engine(url, pool_size=max_workers)
        self.domain = AuthDomain.build(session_factory(self.engine), self.pool.client(), settings, TokenCodec(settings))
        try:
            self.domain.revocations.republish_revocations()
        except Exception as exc:  # Redis is down: the service's timer republishes once it is back
            self.domain.revocations.unpublished = True
            log.warning("revocations not republished at start", extra={"fields": {"error": str(exc)[:200]}})

    def stop(self) -> None:
        self.engine.dispose()

    def get_dependency(self, worker_ctx) -> AuthDomain:
        return self.domain


def request_meta(caller) -> RequestMeta:
    return RequestMeta(ip=caller.ip, user_agent=caller.user_agent, request_id=caller.request_id)
