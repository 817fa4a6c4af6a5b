"""Engines, sessions and Alembic migrations of the services' SQL databases (auth, agent).

``Migrations(directory, lock_id, version_table)`` brings a database to the
newest schema (Alembic ``upgrade head``); on PostgreSQL it holds an advisory
lock while it does, so several instances starting at once migrate one after
another (the later ones find nothing to do); on SQLite a lock file next to the
database does the same (``agenthub up --scale auth=2``). Each service has its own version
table, so auth and agent may share one PostgreSQL database.

Drivers: SQLite (the stdlib module; local and quick) or PostgreSQL through
pg8000, which is pure Python and so greened by eventlet — never psycopg2, whose
C-level waits would block the hub.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker


def normalize_url(url: str) -> str:
    """A plain ``postgresql://`` or ``postgres://`` URL uses pg8000, never psycopg2."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+pg8000")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, pool_size: int = 10) -> Engine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=1800)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextlib.contextmanager
def _sqlite_file_lock(url: str) -> Iterator[None]:
    """SQLite has no advisory lock: several processes starting at once take turns on a lock
    file next to the database instead."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        yield
        return
    path = Path(parsed.database)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".migrate-lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


class Migrations:
    """One service's Alembic scripts: ``directory`` holds ``env.py`` and ``versions/``."""

    def __init__(self, directory: Path, lock_id: int, version_table: str = "alembic_version") -> None:
        self.directory, self.lock_id, self.version_table = Path(directory), lock_id, version_table

    def config(self, connection: Connection | None = None) -> Config:
        config = Config()
        config.set_main_option("script_location", str(self.directory))
        config.attributes["connection"] = connection
        config.attributes["version_table"] = self.version_table
        return config

    def _run(self, url: str, action: Callable[[Config], None]) -> None:
        engine = make_engine(url, pool_size=1)
        try:
            with _sqlite_file_lock(url), engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    # released at commit: the whole migration runs in this one transaction
                    connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": self.lock_id})
                action(self.config(connection))
        finally:
            engine.dispose()

    def migrate(self, url: str, revision: str = "head") -> None:
        """Upgrade the database at ``url`` to ``revision`` (default: the newest)."""
        self._run(url, lambda config: command.upgrade(config, revision))

    def downgrade(self, url: str, revision: str = "base") -> None:
        """Downgrade the database at ``url`` (default: to an empty schema)."""
        self._run(url, lambda config: command.downgrade(config, revision))

    def current_revision(self, url: str) -> str | None:
        from alembic.runtime.migration import MigrationContext

        engine = make_engine(url, pool_size=1)
        try:
            with engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={"version_table": self.version_table})
                return context.get_current_revision()
        finally:
            engine.dispose()

    def head_revision(self) -> str | None:
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self.config()).get_current_head()


def run_alembic_env(context: Any, metadata: MetaData, default_url: Callable[[], str]) -> None:
    """The body of a service's ``migrations/env.py``: on the connection ``Migrations`` hands over,
    else on ``sqlalchemy.url`` or ``default_url()`` (the ``alembic`` command line)."""
    config = context.config
    options = {
        "target_metadata": metadata,
        "render_as_batch": True,
        "version_table": config.attributes.get("version_table") or "alembic_version",
    }

    def url() -> str:
        return normalize_url(config.get_main_option("sqlalchemy.url") or default_url())

    def run_on(connection: Connection) -> None:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()

    if context.is_offline_mode():
        context.configure(url=url(), literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    engine = make_engine(url(), pool_size=1)
    try:
        with engine.begin() as connection:
            run_on(connection)
    finally:
        engine.dispose()
