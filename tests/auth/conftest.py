"""Fixtures of the auth tests: databases (SQLite and a fresh PostgreSQL database
per run), a Redis prefix per test, the domain, and an auth service of our own.

The auth service here runs on an ``Isolation`` of its own (vhost + Redis
prefix) rather than the session's: the shared ``stack`` fixture starts another
``auth`` on the session's vhost with a different database, and two consumers of
``rpc-auth`` with two databases would make every test a coin toss.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy import text

from core.tokens import TokenCodec
from services.auth import db
from services.auth.domain import AuthDomain
from services.auth.passwords import Passwords
from services.common.settings import ServiceSettings
from tests.support.postgres import create_database as create_pg_database
from tests.support.postgres import drop_database as drop_pg_database
from tests.support.stack import REDIS_URL, Isolation, ServiceProcess

TABLES = ["audit_events", "api_keys", "refresh_tokens", "sessions", "users"]
FAST_HASH = {"password_time_cost": 1, "password_memory_cost": 1024, "password_parallelism": 1}


class Clock:
    """The domain's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="session")
def pg_database():
    name, url = create_pg_database()
    try:
        db.migrate(url)
        yield url
    finally:
        drop_pg_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'auth.db'}"
        db.migrate(url)
        return url
    url = request.getfixturevalue("pg_database")
    engine = db.make_engine(url, pool_size=1)
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE " + ", ".join(TABLES) + " CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def engine(database_url):
    engine = db.make_engine(database_url, pool_size=5)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def redis_client():
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client):
    prefix = f"agenthub-authtest-{uuid.uuid4().hex[:10]}:"
    yield prefix
    keys = list(redis_client.scan_iter(f"{prefix}*", count=1000))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture(scope="session")
def passwords() -> Passwords:
    return Passwords(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_domain(engine, redis_client, redis_prefix, passwords, clock):
    def make(**overrides) -> AuthDomain:
        values = {"env": "development", "redis_prefix": redis_prefix, "register_rate_limit": "1000/hour",
                  **FAST_HASH, **overrides}
        settings = ServiceSettings(**values)
        hasher = passwords if not (set(overrides) & set(FAST_HASH)) else None
        return AuthDomain.build(db.session_factory(engine), redis_client, settings, TokenCodec(settings), hasher, clock)
    return make


@pytest.fixture
def domain(make_domain) -> AuthDomain:
    return make_domain()


# -- the service over real AMQP -------------------------------------------------------

SERVICE_ENV = {
    "AGENTHUB_LOGIN_USER_RATE_LIMIT": "10/minute",
    "AGENTHUB_LOGIN_IP_RATE_LIMIT": "1000/minute",
    "AGENTHUB_REGISTER_RATE_LIMIT": "1000/hour",
    "AGENTHUB_PASSWORD_TIME_COST": "1",
    "AGENTHUB_PASSWORD_MEMORY_COST": "4096",
    "AGENTHUB_PASSWORD_PARALLELISM": "1",
    "AGENTHUB_AUDIT_PURGE_INTERVAL": "10",
}


@pytest.fixture(scope="session", params=["postgresql", "sqlite"])
def auth_database(request, tmp_path_factory):
    """The database of the integration tests' auth service: a fresh PostgreSQL
    database per run, then the default SQLite file (under eventlet, several workers)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('auth-sqlite') / 'auth.db'}"
        return
    name, url = create_pg_database()
    yield url
    drop_pg_database(name)


@pytest.fixture(scope="session")
def auth_isolation(tmp_path_factory):
    isolation = Isolation(data_dir=tmp_path_factory.mktemp("auth-service")).create()
    yield isolation
    isolation.destroy()


@pytest.fixture(scope="session")
def auth_service(auth_isolation, auth_database):
    process = ServiceProcess(auth_isolation, "services.auth.service", "auth",
                             AGENTHUB_DATABASE_URL=auth_database, **SERVICE_ENV)
    try:
        process.wait_until_consuming()
        yield process
    finally:
        process.stop()
