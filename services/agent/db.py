"""Migrations of the agent database (conversations, run records, settings), through
the services' shared SQL helper ``services.common.db``."""

from __future__ import annotations

from pathlib import Path

from services.common.db import Migrations

ADVISORY_LOCK_ID = 0x41474841  # "AGHA": the agent's migrations, apart from auth's
VERSION_TABLE = "agent_alembic_version"
migrations = Migrations(Path(__file__).resolve().parent / "migrations", ADVISORY_LOCK_ID, VERSION_TABLE)
