"""Relaying a run's Redis Stream to a GraphQL client: replay, then follow live.

The agent service writes the stream; the gateway only reads it (with
redis.asyncio, never blocking the event loop). Ownership is checked by the
agent service *before* a stream is read here (``get_run`` is NOT_FOUND for
anyone but the run's owner).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from core.redis_client import async_client, is_redis_down
from schema.agent import TERMINAL_EVENTS, EventType, RunEvent, RunStatus, entry_id, run_events_key

BLOCK_MS = 2000  # at most; always below the client's socket timeout (block_ms)
IDLE_CHECK_SECONDS = 10.0


def block_ms(client: Redis) -> int:
    """How long one XREAD may block: half the client's socket timeout, at most ``BLOCK_MS``. A block as
    long as the timeout makes a quiet stream (a model thinking) look like a Redis that does not answer."""
    timeout = client.connection_pool.connection_kwargs.get("socket_timeout") or BLOCK_MS / 1000
    return max(100, min(BLOCK_MS, int(timeout * 500)))


def redis_client(connection: HTTPConnection) -> Redis:
    """The app's async Redis client (``app.state.redis``), created lazily if the lifespan has none."""
    state = connection.app.state
    client = getattr(state, "redis", None) or getattr(state, "agent_redis", None)
    if client is None:
        settings = state.settings
        client = async_client(settings, socket_timeout=BLOCK_MS / 1000 + 3)
        state.agent_redis = client
    return client


async def close_redis(app: Starlette) -> None:
    """For the app's lifespan shutdown: closes the client ``redis_client`` created lazily, if any."""
    client = getattr(app.state, "agent_redis", None)
    if client is not None:
        await client.aclose()
        app.state.agent_redis = None


async def follow(
    client: Redis, prefix: str, run_id: str, after_seq: int, run_status: Callable[[], Awaitable[RunStatus]]
) -> AsyncIterator[RunEvent]:
    """Events after ``after_seq`` in order, then live ones, until the run's terminal event.

    When the stream is silent for a while, ``run_status()`` (the agent's
    ``get_run``) says whether the run still runs: a run whose agent died is
    marked FAILED there, and its RUN_FAILED event then arrives here.

    Redis lost (down, or restarted without the stream): the relay ends with a
    ``RUN_FAILED`` event that says so; the run's record stays in the agent's
    database (``agentRun(id)``).
    """
    key = run_events_key(prefix, run_id)
    last: bytes | str = entry_id(after_seq) if after_seq else "0-0"
    seq = after_seq
    block = block_ms(client)
    try:
        if not await client.exists(key) and await run_status() is not RunStatus.RUNNING:
            return  # an ended run whose events have expired: nothing to replay, nothing to wait for
        quiet_since = time.monotonic()
        while True:
            # redis-py types XREAD's reply loosely; it is [[stream, [(entry id, fields), …]]]
            reply: list[tuple[Any, list[tuple[bytes | str, dict[Any, Any]]]]] = await client.xread(  # type: ignore[assignment]
                {key: last}, count=500, block=block
            )
            if not reply:
                if time.monotonic() - quiet_since >= IDLE_CHECK_SECONDS:
                    quiet_since = time.monotonic()
                    status = await run_status()
                    if status is not RunStatus.RUNNING and not await client.xread({key: last}, count=1):
                        # ended without its terminal event reaching the stream (Redis lost it)
                        yield _lost(
                            run_id,
                            seq,
                            "EVENTS_LOST",
                            f"The run's live events were lost (Redis "
                            f"restarted); it ended {status.value}: read agentRun for its result.",
                        )
                        return
                continue
            quiet_since = time.monotonic()
            for entry, fields in reply[0][1]:
                last = entry
                event = RunEvent.from_entry(run_id, entry, fields)
                seq = event.seq
                yield event
                if event.type in TERMINAL_EVENTS:
                    return
    except RedisError as exc:
        if not is_redis_down(exc):
            raise
        yield _lost(
            run_id,
            seq,
            "SERVICE_UNAVAILABLE",
            "The run's live events are unavailable (redis is down). "
            "The run's result stays available: read agentRun later.",
        )


def _lost(run_id: str, seq: int, code: str, message: str) -> RunEvent:
    """The clear end of a relay whose stream Redis lost (not stored: the stream is gone)."""
    return RunEvent(
        run_id=run_id,
        seq=seq + 1,
        type=EventType.RUN_FAILED,
        data={"code": code, "message": message, "dependency": "redis"},
    )
