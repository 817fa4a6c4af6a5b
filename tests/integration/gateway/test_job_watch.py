"""``JobWatch`` on the real Redis: a subscription is woken when its job's version moves, not otherwise,
and while Redis cannot answer, every subscription polls."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from gateway.graphql.rag.watch import JobWatch
from schema.rag import job_version_key
from tests.support.stack import REDIS_URL

INTERVAL = 0.05


@pytest.fixture
async def redis():
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


async def woken(event: asyncio.Event, within: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), within)
        return True
    except TimeoutError:
        return False


async def test_a_watched_job_wakes_its_subscription_when_its_version_moves_and_only_then(redis):
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    watch = JobWatch(redis, prefix, interval=INTERVAL)
    moving, still = watch.watch("j1"), watch.watch("j2")
    try:
        assert await woken(moving, 1) and await woken(still, 1)  # the first reading counts as a change
        moving.clear(), still.clear()
        assert not await woken(moving, 10 * INTERVAL)  # nothing moved: nobody is woken
        await redis.incr(job_version_key(prefix, "j1"))
        assert await woken(moving, 1)
        assert not still.is_set()
    finally:
        watch.unwatch(moving), watch.unwatch(still)
        await watch.close()
        await redis.delete(job_version_key(prefix, "j1"))


async def test_without_redis_every_watched_job_counts_as_changed():
    unreachable = Redis(port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    watch = JobWatch(unreachable, "test:", interval=INTERVAL)
    changed = watch.watch("j1")
    try:
        for _ in range(3):  # again and again: the subscription polls until Redis is back
            assert await woken(changed, 2)
            changed.clear()
    finally:
        watch.unwatch(changed)
        await watch.close()
        await unreachable.aclose()
