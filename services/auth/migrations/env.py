"""Alembic environment: runs on the connection ``services.auth.db`` hands over,
or on ``sqlalchemy.url`` / ``AGENTHUB_DATABASE_URL`` when run by the ``alembic`` CLI."""

from __future__ import annotations

from alembic import context

from services.auth.models import Base
from services.common.db import run_alembic_env


def _default_url() -> str:
    from services.common.settings import ServiceSettings

    return ServiceSettings().auth_database_url()  # AGENTHUB_DATABASE_URL, else the SQLite file


run_alembic_env(context, Base.metadata, _default_url)
