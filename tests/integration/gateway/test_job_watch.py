"""``JobWatch`` on the real Redis: a subscription is woken when its job's version moves, not otherwise,
at once when rag announces it, and while Redis cannot answer, every subscription polls."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from gateway.graphql.rag.watch import JobWatch
from schema.rag import job_version_key
from services.rag.jobs import JobVersions
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


async def test_an_announced_change_wakes_its_subscription_at_once_and_once(redis):
    """With the counters read once a minute, only the announcement can wake the watcher in time;
    the next reading of the counters finds the version already seen and wakes nobody again."""
    import redis as sync_redis

    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    watch = JobWatch(redis, prefix, interval=60)
    changed, other = watch.watch("j1"), watch.watch("j2")
    rag_side = sync_redis.Redis.from_url(REDIS_URL)
    try:
        for _ in range(100):  # until the listener subscribed (nothing else wakes anyone for a minute)
            if (await redis.pubsub_numsub(watch.channel))[0][1]:
                break
            await asyncio.sleep(0.02)
        assert not changed.is_set()
        await asyncio.to_thread(JobVersions(rag_side, prefix).bump, "j1")  # as rag does on a change
        assert await woken(changed, 2)
        assert not other.is_set()
        changed.clear()
        watch.interval = INTERVAL
        await watch._check(list(watch._watched.items()))  # the counters' next reading
        assert not changed.is_set() and other.is_set()  # j1's version was seen; j2's first reading
    finally:
        watch.unwatch(changed), watch.unwatch(other)
        await watch.close()
        await redis.delete(job_version_key(prefix, "j1"))
        rag_side.close()


async def test_the_announcement_of_a_jobs_end_carries_the_job_to_its_watchers(redis):
    """A subscription shows the end as announced (``ended``), without reading the job again; a
    change seen only in the counters, or announced without the job, carries nothing."""
    import redis as sync_redis

    from schema.rag import Job, JobStatus

    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    watch = JobWatch(redis, prefix, interval=60)
    changed = watch.watch("j1")
    rag_side = sync_redis.Redis.from_url(REDIS_URL)
    versions = JobVersions(rag_side, prefix)
    try:
        for _ in range(100):  # until the listener subscribed
            if (await redis.pubsub_numsub(watch.channel))[0][1]:
                break
            await asyncio.sleep(0.02)
        await asyncio.to_thread(versions.bump, "j1")  # a change that does not end it
        assert await woken(changed, 2) and watch.ended(changed) is None
        changed.clear()
        ended = Job(id="j1", status=JobStatus.FAILED, progress=0.2, error="no text", error_code="NO_TEXT")
        await asyncio.to_thread(versions.bump, "j1", ended)
        assert await woken(changed, 2)
        assert Job.model_validate_json(watch.ended(changed)) == ended
    finally:
        watch.unwatch(changed)
        await watch.close()
        await redis.delete(job_version_key(prefix, "j1"))
        rag_side.close()


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
