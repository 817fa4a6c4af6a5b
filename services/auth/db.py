"""Engine, sessions and migrations of the auth database (the shared helper is
``services.common.db``).

``migrate(url)`` brings any database to the newest schema (Alembic ``upgrade
head``) under a PostgreSQL advisory lock (a lock file on SQLite); the service runs it at start,
``agenthub migrate`` too.
"""

from __future__ import annotations

from pathlib import Path

from services.common.db import Migrations, make_engine, normalize_url, session_factory

__all__ = [
    "MIGRATIONS",
    "current_revision",
    "downgrade",
    "head_revision",
    "make_engine",
    "migrate",
    "normalize_url",
    "session_factory",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ADVISORY_LOCK_ID = 0x41474854  # "AGHT": one lock id for every AgentHub auth migration
_migrations = Migrations(MIGRATIONS, ADVISORY_LOCK_ID)


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` (default: the newest)."""
    _migrations.migrate(url, revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Downgrade the database at ``url`` (default: to an empty schema)."""
    _migrations.downgrade(url, revision)


def current_revision(url: str) -> str | None:
    return _migrations.current_revision(url)


def head_revision() -> str | None:
    return _migrations.head_revision()
