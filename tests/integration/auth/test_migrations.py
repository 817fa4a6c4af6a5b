"""The Alembic migrations, on SQLite and on a fresh PostgreSQL database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import inspect

from services.auth import db
from tests.support.fixtures.auth import create_pg_database, drop_pg_database

TABLES = {"users", "sessions", "refresh_tokens", "api_keys", "audit_events"}


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'nested' / 'auth.db'}"
        return
    name, url = create_pg_database()
    yield url
    drop_pg_database(name)


def tables(url: str) -> set[str]:
    engine = db.make_engine(url, pool_size=1)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_fresh_database_to_head_down_to_base_and_up_again(fresh_url):
    assert db.current_revision(fresh_url) is None
    db.migrate(fresh_url)
    assert db.current_revision(fresh_url) == db.head_revision()
    assert tables(fresh_url) == TABLES
    db.migrate(fresh_url)  # nothing to do
    db.downgrade(fresh_url, "base")
    assert db.current_revision(fresh_url) is None and tables(fresh_url) == set()
    db.migrate(fresh_url)
    assert db.current_revision(fresh_url) == db.head_revision() and tables(fresh_url) == TABLES


def test_concurrent_starts_on_postgresql_migrate_once():
    name, url = create_pg_database()  # several instances share PostgreSQL; the advisory lock orders them
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: db.migrate(url), range(4)))
        assert db.current_revision(url) == db.head_revision() and tables(url) == TABLES
    finally:
        drop_pg_database(name)


def test_concurrent_starts_on_sqlite_migrate_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'auth.db'}"  # agenthub up --scale auth=2 on the default store
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: db.migrate(url), range(4)))
    assert db.current_revision(url) == db.head_revision() and tables(url) == TABLES


def test_models_match_the_migrations(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from services.auth.models import Base

    url = f"sqlite:///{tmp_path / 'auth.db'}"
    db.migrate(url)
    engine = db.make_engine(url, pool_size=1)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == []
