"""Real accounts in the session stack's auth database, created without the API."""

from __future__ import annotations

import redis

from core.tokens import revocation_epoch_key
from services.auth.accounts import create_admin_at
from services.common.settings import ServiceSettings
from tests.support.stack import REDIS_URL, Isolation

PASSPHRASE = "test account passphrase"


def create_admin(isolation: Isolation, username: str) -> str:
    """An admin in the stack's (SQLite) auth database; returns its id."""
    settings = ServiceSettings(
        data_dir=isolation.data_dir,
        env="development",
        password_time_cost=1,
        password_memory_cost=1024,
        password_parallelism=1,
    )
    return create_admin_at(settings.auth_database_url(), username, PASSPHRASE, settings=settings).id


def mark_revocations_published(redis_prefix: str) -> None:
    """For stacks run without the auth service (or a prefix auth does not serve): what auth
    writes when nothing is revoked. Without it every token is (rightly) refused as unknown."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.set(revocation_epoch_key(redis_prefix), "test-without-auth")
    finally:
        client.close()
