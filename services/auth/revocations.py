"""Revocation state in Redis, published from the database (the truth).

The gateway and the services decide "revoked?" with one Redis read of the keys
``core/tokens.py`` names (an ``MGET``; for a GraphQL request the gateway's
admission script, which takes the rate limit in the same round trip); this
module is the only writer of that state:

* A revocation (a session ended, a user's token version bumped, an API key
  revoked) is written after the commit that made it. If Redis fails, the
  database has it anyway and ``unpublished`` says a republish is due.
* ``republish_revocations`` rebuilds the Redis side from the database and
  writes the revocation epoch last, all of it or none (MULTI/EXEC). It runs at
  start, whenever the edge finds the epoch or a user's version missing
  (``publish_revocations``), and from the service's timer when the epoch is
  gone or a publish failed while Redis was down (``ensure_published``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import sessionmaker

from core.tokens import (
    SET_MAX_SCRIPT,
    api_key_revoked_key,
    profile_key,
    revocation_epoch_key,
    session_revoked_key,
    user_version_key,
)
from services.auth.common import utcnow
from services.auth.models import ApiKey, Session, User
from services.common.settings import ServiceSettings

log = logging.getLogger("agenthub.auth")


class Revocations:
    def __init__(
        self,
        session_factory: sessionmaker,
        redis_client,
        settings: ServiceSettings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sf = session_factory
        self.redis = redis_client
        self.settings = settings
        self.prefix = settings.redis_prefix
        self.now = clock
        self._set_max = redis_client.register_script(SET_MAX_SCRIPT)
        self._republish_lock = threading.Lock()  # greened under eventlet: one republish at a time
        self.unpublished = False  # a revocation reached the database but not Redis: republish when it is back

    def _write(self, pipe) -> None:
        """Runs a revocation's Redis writes; if Redis fails, the next republish must happen."""
        try:
            pipe.execute()
        except Exception:
            self.unpublished = True
            raise

    def sessions_ended(self, session_ids: list[str]) -> None:
        if session_ids:
            ttl = self.settings.access_token_ttl + 60
            pipe = self.redis.pipeline(transaction=False)
            for session_id in session_ids:
                pipe.set(session_revoked_key(self.prefix, session_id), "1", ex=ttl)
            self._write(pipe)

    def user_version(self, user_id: str, version: int) -> None:
        """A user's tokens older than ``version`` are revoked; the cached profile goes with them."""
        pipe = self.redis.pipeline(transaction=False)
        self._set_max(keys=[user_version_key(self.prefix, user_id)], args=[version], client=pipe)
        pipe.delete(profile_key(self.prefix, user_id))
        self._write(pipe)

    def api_key_revoked(self, key_id: str, expires_at: datetime | None) -> None:
        ttl = None
        if expires_at is not None:
            ttl = max(1, int((expires_at - self.now()).total_seconds()) + 60)
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(api_key_revoked_key(self.prefix, key_id), "1", ex=ttl)
        self._write(pipe)

    def republish_revocations(self) -> dict[str, int]:
        """Write the database's revocation state to Redis (which keeps nothing across restarts),
        then the epoch: all of it or none (MULTI/EXEC)."""
        now = self.now()
        self.unpublished = False  # cleared first: a revocation failing meanwhile sets it again
        window = timedelta(seconds=self.settings.access_token_ttl + 60)
        with self.sf() as session:
            versions = session.execute(select(User.id, User.token_version).where(User.token_version > 0)).all()
            ended = session.execute(
                select(Session.id, Session.revoked_at).where(
                    Session.revoked_at.is_not(None), Session.revoked_at > now - window
                )
            ).all()
            keys = session.execute(
                select(ApiKey.id, ApiKey.expires_at).where(
                    ApiKey.revoked_at.is_not(None), or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now)
                )
            ).all()
        pipe = self.redis.pipeline(transaction=True)
        for user_id, version in versions:
            self._set_max(keys=[user_version_key(self.prefix, user_id)], args=[version], client=pipe)
        for session_id, revoked_at in ended:
            ttl = max(1, int((revoked_at + window - now).total_seconds()))
            pipe.set(session_revoked_key(self.prefix, session_id), "1", ex=ttl)
        for key_id, expires_at in keys:
            key_ttl = None if expires_at is None else max(1, int((expires_at - now).total_seconds()) + 60)
            pipe.set(api_key_revoked_key(self.prefix, key_id), "1", ex=key_ttl)
        pipe.set(revocation_epoch_key(self.prefix), self._redis_run_id())
        try:
            pipe.execute()
        except Exception:
            self.unpublished = True
            raise
        counts = {"userVersions": len(versions), "sessions": len(ended), "apiKeys": len(keys)}
        log.info("revocations republished", extra={"fields": counts})
        return counts

    def _redis_run_id(self) -> str:
        """Changes whenever the Redis server restarts, whatever data it reloads."""
        return str(self.redis.info("server").get("run_id", ""))

    def ensure_published(self) -> bool:
        """Republishes when the epoch is missing or from an earlier Redis run, or when a
        revocation could not be written; once, however many callers ask at the same moment.
        True when it republished."""
        with self._republish_lock:
            epoch = self.redis.get(revocation_epoch_key(self.prefix))
            if not self.unpublished and epoch is not None and epoch.decode() == self._redis_run_id():
                return False
            self.republish_revocations()
            return True
