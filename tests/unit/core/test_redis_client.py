"""The Redis client factory and what a Redis outage looks like to a client, without servers."""

from __future__ import annotations

import pytest
import redis
import redis.asyncio
from graphql import GraphQLError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.redis_client import async_client, is_redis_down, redis_unavailable, sync_client
from core.settings import CommonSettings
from core.tokens import revocation_unknown
from gateway.graphql.errors import conventional
from schema.errors import ServiceUnavailable, from_wire


def settings(**values) -> CommonSettings:
    return CommonSettings(env="development", redis_url="redis://127.0.0.1:1/0", **values)


def test_sync_clients_wait_for_a_connection_retry_and_check_idle_ones():
    client = sync_client(
        settings(redis_max_connections=7, redis_pool_timeout=1.5, redis_retries=4, redis_health_check_interval=3)
    )
    pool = client.connection_pool
    assert isinstance(pool, redis.BlockingConnectionPool)
    assert pool.max_connections == 7 and pool.timeout == 1.5
    kwargs = pool.connection_kwargs
    assert kwargs["health_check_interval"] == 3
    assert kwargs["retry"].get_retries() == 4
    assert RedisConnectionError in kwargs["retry_on_error"]
    # A timeout is not retried: each retry of a hung Redis would wait the whole socket timeout again.
    assert RedisTimeoutError not in kwargs["retry_on_error"]
    assert RedisTimeoutError not in kwargs["retry"]._supported_errors  # redis-py keeps no public getter
    assert kwargs["socket_timeout"] == 2.0 and kwargs["socket_connect_timeout"] == 2.0
    client.close()


async def test_async_clients_have_the_same_policy_and_their_own_socket_timeout():
    client = async_client(settings(), socket_timeout=9)
    pool = client.connection_pool
    assert isinstance(pool, redis.asyncio.BlockingConnectionPool)
    assert pool.max_connections == 200
    assert pool.connection_kwargs["socket_timeout"] == 9
    assert pool.connection_kwargs["retry"].get_retries() == 3
    await client.aclose()


def test_an_unreachable_redis_fails_fast_after_its_retries():
    client = sync_client(settings(redis_retries=2))
    with pytest.raises(RedisConnectionError) as raised:
        client.ping()
    assert is_redis_down(raised.value)
    client.close()


def test_redis_down_is_service_unavailable_naming_redis():
    error = conventional(GraphQLError("boom", original_error=RedisConnectionError("Connection refused")))
    assert error.extensions == {"code": "SERVICE_UNAVAILABLE", "dependency": "redis"}
    assert "refused" not in error.message
    assert not is_redis_down(ValueError())


def test_the_typed_error_crosses_the_wire_with_its_dependency():
    from nameko.exceptions import serialize

    rebuilt = from_wire(serialize(redis_unavailable()))
    assert isinstance(rebuilt, ServiceUnavailable)
    assert rebuilt.extensions == {"code": "SERVICE_UNAVAILABLE", "dependency": "redis"}


def test_a_missing_epoch_is_never_valid():
    assert revocation_unknown(None)
    assert not revocation_unknown(b"run-id")
