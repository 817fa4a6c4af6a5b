"""Fixtures of the rag tests: a domain ``Library`` on a temporary data dir and
Redis prefix (unit level, no AMQP), identities, and token minting for RPC tests."""

from __future__ import annotations

import uuid

import pytest
import redis

from schema.models import Identity
from schema.permissions import permissions_of
from services.rag.catalog import make_engine
from tests.support.postgres import fresh_database
from tests.support.stack import REDIS_URL


def identity(user_id: str, role: str = "user") -> Identity:
    return Identity(user_id=user_id, username=user_id, role=role,
                    permissions=frozenset(p.value for p in permissions_of(role)), session_id=f"s-{user_id}")


@pytest.fixture(scope="module")
def redis_client():
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


def make_settings(tmp_path, prefix: str, **overrides):
    from services.rag.settings import RagSettings
    return RagSettings(env="development", data_dir=tmp_path, redis_prefix=prefix, rag_cache_ttl=60,
                       **overrides)


@pytest.fixture(scope="module")
def library(tmp_path_factory, redis_client):
    from services.rag.dependencies import build_library
    prefix = f"rag-test-{uuid.uuid4().hex[:8]}:"
    library = build_library(make_settings(tmp_path_factory.mktemp("rag"), prefix, rag_chunk_words=40),
                            redis_client, wake=Queue())
    yield library
    library.store.close()
    library.catalog.close()
    keys = list(redis_client.scan_iter(f"{prefix}*"))
    if keys:
        redis_client.delete(*keys)


class Queue:
    """Stands in for the durable queue as the library's ``wake``: collects job ids (``drain`` runs them)."""

    def __init__(self) -> None:
        self.jobs: list[str] = []

    def __call__(self, job_id: str) -> None:
        self.jobs.append(job_id)


def drain(library) -> list[str]:
    """Run the jobs announced so far, in order, as the ingestion queue would; their outcomes."""
    outcomes = []
    while library.wake.jobs:
        outcomes.append(library.worker.run_job(library.wake.jobs.pop(0)))
    return outcomes


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """The rag catalog's SQL engine on SQLite and on a fresh database of the real PostgreSQL."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'catalog.sqlite3'}")
        yield engine
        engine.dispose()
    else:
        with fresh_database() as url:
            engine = make_engine(url)
            yield engine
            engine.dispose()
