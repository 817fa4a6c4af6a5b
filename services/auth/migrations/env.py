"""Alembic environment: runs on the connection ``services.auth.db`` hands over,
or on ``sqlalchemy.url`` / ``AGENTHUB_DATABASE_URL`` when run by the ``alembic`` CLI."""

from __future__ import annotations

import os

from alembic import context

from services.auth.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    from services.auth.db import normalize_url

    url = config.get_main_option("sqlalchemy.url") or os.environ.get("AGENTHUB_DATABASE_URL")
    if not url:
        from services.common.settings import ServiceSettings

        url = ServiceSettings().auth_database_url()
    return normalize_url(url)


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    from services.auth.db import make_engine

    engine = make_engine(_url(), pool_size=1)
    try:
        with engine.begin() as connection:
            _run_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
