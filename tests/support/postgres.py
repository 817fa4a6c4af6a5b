"""A fresh PostgreSQL database per use, on the machine's real server."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pg8000.native

PG_HOST = os.environ.get("AGENTHUB_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("AGENTHUB_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("AGENTHUB_TEST_PG_USER", "postgres")


def _admin() -> pg8000.native.Connection:
    return pg8000.native.Connection(PG_USER, host=PG_HOST, port=PG_PORT, database="postgres")


def create_database() -> tuple[str, str]:
    """A new, empty database; returns (name, SQLAlchemy URL)."""
    name = f"agenthub_test_{uuid.uuid4().hex[:12]}"
    connection = _admin()
    try:
        connection.run(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()
    return name, f"postgresql+pg8000://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def drop_database(name: str) -> None:
    connection = _admin()
    try:
        connection.run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        connection.close()


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """Yields the URL of a new, empty database, dropped afterwards."""
    name, url = create_database()
    try:
        yield url
    finally:
        drop_database(name)
