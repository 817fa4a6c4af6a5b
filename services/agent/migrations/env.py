"""Alembic environment of the agent database: runs on the connection
``services.agent.db`` hands over, or on ``sqlalchemy.url`` /
``AGENTHUB_AGENT_DATABASE_URL`` when run by the ``alembic`` CLI. Its own version
table (``agent_alembic_version``) lets it share a database with auth."""

from __future__ import annotations

from alembic import context

from services.agent.models import Base
from services.common.db import run_alembic_env


def _default_url() -> str:
    from services.agent.config import AgentSettings

    return AgentSettings().agent_database()


if not context.config.attributes.get("version_table"):
    context.config.attributes["version_table"] = "agent_alembic_version"  # the alembic command line
run_alembic_env(context, Base.metadata, _default_url)
