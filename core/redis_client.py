"""The one place Redis clients are built, for the asyncio gateway and the eventlet services.

Why one factory: redis-py's defaults suit a script, not a server. ``from_url``
gives a pool that raises ``MaxConnectionsError`` when busy (5.5 % HTTP 500 at
200 concurrent clients), no retry on a dropped connection, and pooled
connections that fail once each after a Redis restart. Every client here has:

* a ``BlockingConnectionPool``: a busy pool waits up to
  ``AGENTHUB_REDIS_POOL_TIMEOUT`` seconds for a free connection;
* ``Retry(ExponentialBackoff)`` on ``ConnectionError``, so a stale pooled
  connection is reconnected instead of failing the caller. Not on ``TimeoutError``:
  a Redis that accepts connections and does not answer (hung, swapped out) would
  make every retry wait the whole socket timeout again, and a request that sends
  several commands would hang for minutes instead of failing in seconds;
* ``health_check_interval``: a connection idle that long is PINGed before use;
* bounded socket and connect timeouts.

``RedisUnavailable`` and ``is_redis_down`` let callers turn what is left (Redis
really down) into the typed ``SERVICE_UNAVAILABLE`` naming ``redis``.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from core.settings import CommonSettings
from schema.errors import ServiceUnavailable

RETRY_ON = (RedisConnectionError,)
BACKOFF_BASE, BACKOFF_CAP = 0.05, 1.0  # 50 ms, 100 ms, 200 ms ... at most 1 s between attempts


def _pool_kwargs(settings: CommonSettings, socket_timeout: float | None, max_connections: int | None) -> dict[str, Any]:
    return {
        "max_connections": max_connections or settings.redis_max_connections,
        "timeout": settings.redis_pool_timeout,
        "socket_timeout": socket_timeout or settings.redis_socket_timeout,
        "socket_connect_timeout": settings.redis_connect_timeout,
        "health_check_interval": settings.redis_health_check_interval,
        "retry_on_error": list(RETRY_ON),
    }


def sync_client(
    settings: CommonSettings, *, socket_timeout: float | None = None, max_connections: int | None = None
) -> redis.Redis:
    """A redis-py client for the services (greened under eventlet). ``socket_timeout``
    must exceed the longest blocking command the caller sends (BLPOP, XREAD BLOCK)."""
    pool = redis.BlockingConnectionPool.from_url(
        settings.redis_url,
        retry=Retry(
            ExponentialBackoff(cap=BACKOFF_CAP, base=BACKOFF_BASE), settings.redis_retries, supported_errors=RETRY_ON
        ),
        **_pool_kwargs(settings, socket_timeout, max_connections),
    )
    return redis.Redis(connection_pool=pool)


def async_client(
    settings: CommonSettings, *, socket_timeout: float | None = None, max_connections: int | None = None
) -> redis.asyncio.Redis:
    """A redis.asyncio client for the gateway; closing it closes its pool."""
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        settings.redis_url,
        retry=AsyncRetry(
            ExponentialBackoff(cap=BACKOFF_CAP, base=BACKOFF_BASE), settings.redis_retries, supported_errors=RETRY_ON
        ),
        **_pool_kwargs(settings, socket_timeout, max_connections),
    )
    return redis.asyncio.Redis.from_pool(pool)


def is_redis_down(error: BaseException) -> bool:
    """True for the errors that mean "Redis cannot be reached now" (after the retries)."""
    return isinstance(error, (RedisConnectionError, RedisTimeoutError))


def redis_unavailable() -> ServiceUnavailable:
    """The typed error a client sees while Redis is down: ``SERVICE_UNAVAILABLE``, ``dependency: redis``."""
    return ServiceUnavailable(
        "A service this request needs is unavailable (redis). Try again shortly.", {"dependency": "redis"}
    )
