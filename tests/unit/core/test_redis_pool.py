"""One Redis pool per service process (issue 10): every provider of a service container
that talks to Redis gets the same client, built once. No servers: building a client
connects to nothing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import redis
from nameko.containers import ServiceContainer

import core.redis_client
from services.agent.service import AgentService
from services.auth.service import AuthService
from services.common.dependencies import Redis, RedisPool
from services.common.identity import CallerProvider
from services.common.settings import get_settings
from services.rag.service import RagService


@pytest.fixture
def development(monkeypatch):
    """The providers read the process's settings (cached): development ones, for this test only."""
    monkeypatch.setenv("AGENTHUB_ENV", "development")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def pools_built(monkeypatch, development) -> list[redis.BlockingConnectionPool]:
    """Every connection pool ``core.redis_client`` builds while the test runs."""
    built: list[redis.BlockingConnectionPool] = []
    original = redis.BlockingConnectionPool.from_url

    def counting(*args, **kwargs):
        pool = original(*args, **kwargs)
        built.append(pool)
        return pool

    monkeypatch.setattr(core.redis_client.redis.BlockingConnectionPool, "from_url", counting)
    return built


@pytest.mark.parametrize("service_cls", [AuthService, AgentService, RagService], ids=lambda cls: cls.name)
def test_every_redis_user_of_a_service_shares_one_pool(service_cls, pools_built):
    container = ServiceContainer(service_cls, config={"AMQP_URI": "amqp://guest:guest@127.0.0.1:1/"})  # not connected
    shared = [ext for ext in container.extensions if isinstance(ext, RedisPool)]
    assert len(shared) == 1, "one RedisPool bound per container"
    users = [dep for dep in container.dependencies if hasattr(dep, "pool")]
    # the Redis provider, the caller's identity and the service's domain provider
    assert {type(dep) for dep in users} >= {Redis, CallerProvider} and len(users) >= 3
    assert all(dep.pool is shared[0] for dep in users)

    by_type = {type(dep): dep for dep in container.dependencies}
    client = by_type[Redis].get_dependency(None)
    caller_provider = by_type[CallerProvider]
    caller_provider.setup()
    caller = caller_provider.get_dependency(SimpleNamespace(data={}, call_id_stack=[]))
    assert caller._redis is client
    assert all(dep.pool.client() is client for dep in users)
    assert len(pools_built) == 1

    shared[0].stop()  # closed once, by the container, after the providers stopped
    assert shared[0]._client is None


def test_services_build_redis_clients_only_through_the_shared_pool():
    """A provider that calls ``sync_client`` itself would be a second pool in the process."""
    from pathlib import Path

    services = Path(__file__).resolve().parents[3] / "services"
    callers = sorted(
        str(path.relative_to(services)) for path in services.rglob("*.py") if "sync_client(" in path.read_text()
    )
    assert callers == ["common/dependencies.py"]
