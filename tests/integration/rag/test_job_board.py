"""The SQL job board's transitions on SQLite and on the real PostgreSQL, with a test clock."""

from __future__ import annotations

import pytest

from schema.rag import Job, JobStatus
from services.rag.jobs import DuplicateJob, JobBoard


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def board(engine, clock, **kwargs) -> JobBoard:
    return JobBoard(engine, lease_seconds=10, max_attempts=2, clock=clock, **kwargs)


def job(jobs: JobBoard, owner: str = "alice", **kwargs) -> str:
    return jobs.create({"owner_id": owner, "document_id": "d1", "title": "t"}, **kwargs)


def status(jobs: JobBoard, job_id: str) -> JobStatus:
    return jobs.get(job_id)[0].status


def test_a_job_is_taken_once_and_its_lease_guards_every_write(engine, clock):
    jobs = board(engine, clock)
    job_id = job(jobs)
    outcome, lease = jobs.acquire(job_id)
    assert outcome == "acquired" and status(jobs, job_id) is JobStatus.RUNNING
    assert jobs.acquire(job_id) == ("busy", None)
    clock.now += 11  # lease lapsed: someone else may take it, and the first holder's writes are refused
    outcome, second = jobs.acquire(job_id)
    assert outcome == "acquired" and jobs.get(job_id)[0].attempts == 2
    assert not jobs.progress(lease, 0.5) and not jobs.done(lease, "d1", 3)
    assert jobs.done(second, "d1", 3)
    assert jobs.get(job_id)[0].status is JobStatus.DONE and jobs.acquire(job_id) == ("finished", None)


def test_the_reaper_requeues_a_lapsed_lease_then_fails_it_after_max_attempts(engine, clock):
    jobs = board(engine, clock)
    job_id = job(jobs)
    for attempt in (1, 2):
        assert jobs.acquire(job_id)[0] == "acquired"
        clock.now += 11
        requeued, failed = jobs.reap()
        if attempt == 1:
            assert requeued == [job_id] and status(jobs, job_id) is JobStatus.QUEUED
    assert requeued == [] and [f[0] for f in failed] == [job_id]
    found = jobs.get(job_id)[0]
    assert found.status is JobStatus.FAILED and "gave up after 2 attempts" in found.error


def test_a_clean_stop_gives_the_attempt_back(engine, clock):
    jobs = board(engine, clock)
    job_id = job(jobs)
    for _ in range(5):  # more stops than attempts: never FAILED
        outcome, lease = jobs.acquire(job_id)
        assert outcome == "acquired"
        assert jobs.release(lease)
        assert jobs.get(job_id)[0].status is JobStatus.QUEUED and jobs.get(job_id)[0].attempts == 0


def test_retry_later_until_attempts_run_out(engine, clock):
    jobs = board(engine, clock)
    job_id = job(jobs)
    assert jobs.retry_later(jobs.acquire(job_id)[1], "store down")
    assert not jobs.retry_later(jobs.acquire(job_id)[1], "store down")
    found = jobs.get(job_id)[0]
    assert found.status is JobStatus.FAILED and "store down" in found.error


def test_cancel_ends_a_queued_job_and_flags_a_running_one(engine, clock):
    jobs = board(engine, clock)
    queued, running = job(jobs), job(jobs, owner="bob")
    lease = jobs.acquire(running)[1]
    assert jobs.cancel(queued) == "cancelled" and status(jobs, queued) is JobStatus.CANCELLED
    assert jobs.acquire(queued) == ("finished", None)
    assert jobs.cancel(running) == "requested" and jobs.cancel_requested(running)
    assert not jobs.progress(lease, 0.5)  # the worker learns it at its next progress write
    assert jobs.cancelled(lease) and status(jobs, running) is JobStatus.CANCELLED
    assert jobs.cancel(running) == "finished"


def test_one_owner_cannot_take_more_than_the_quota(engine, clock):
    jobs = board(engine, clock, user_quota=1)
    a1 = job(jobs, "alice")
    clock.now += 1
    a2 = job(jobs, "alice")
    clock.now += 1
    b1 = job(jobs, "bob")
    assert jobs.claimable(2) == [a1, b1]  # oldest first, alice's second waits for her first
    assert jobs.acquire(a1)[0] == "acquired"
    assert jobs.acquire(a2) == ("deferred", None)  # the SQL guard holds even without claimable
    assert jobs.claimable(2) == [b1]
    assert jobs.acquire(b1)[0] == "acquired"
    # what a free slot may prepare ahead: the oldest QUEUED jobs, whatever the quota; never taken by it
    assert jobs.claimable(2) == [] and jobs.next_queued() == [a2] and jobs.next_queued({a2}) == []
    clock.now += 1
    a3 = job(jobs, "alice")
    assert jobs.next_queued(count=2) == [a2, a3] and jobs.next_queued({a2}, count=2) == [a3]
    assert status(jobs, a2) is JobStatus.QUEUED


def test_one_active_job_per_content(engine, clock):
    jobs = board(engine, clock)
    first = job(jobs, active_key="k" * 64)
    with pytest.raises(DuplicateJob) as duplicate:
        job(jobs, active_key="k" * 64)
    assert duplicate.value.job_id == first and jobs.active("k" * 64) == first
    jobs.done(jobs.acquire(first)[1], "d1", 1)
    assert jobs.active("k" * 64) is None
    assert job(jobs, active_key="k" * 64) != first


def test_concurrent_acquisitions_never_exceed_the_quota(engine):
    """Two workers taking two jobs of one owner at the same moment, many times: one wins each round."""
    import threading

    jobs = JobBoard(engine, lease_seconds=10, max_attempts=2, user_quota=1)
    for round_ in range(10):
        owner = f"owner-{round_}"
        ids = [job(jobs, owner), job(jobs, owner)]
        barrier, outcomes = threading.Barrier(2), []

        def take(job_id: str, barrier: threading.Barrier = barrier, outcomes: list = outcomes) -> None:
            barrier.wait(timeout=10)
            outcomes.append(jobs.acquire(job_id)[0])

        threads = [threading.Thread(target=take, args=(job_id,)) for job_id in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(outcomes) == ["acquired", "deferred"], (round_, outcomes)


def test_every_change_a_reader_sees_is_announced_and_a_lease_extension_is_not(engine, clock):
    announced: list[str] = []
    jobs = board(engine, clock, changed=lambda job_id, ended: announced.append(job_id))
    job_id = job(jobs)
    _, lease = jobs.acquire(job_id)
    assert announced == [job_id]  # QUEUED → RUNNING
    assert jobs.heartbeat(lease)
    assert announced == [job_id]  # the lease only: nobody reading the job sees it
    assert jobs.progress(lease, 0.5) and jobs.done(lease, "d1", 3)
    assert announced == [job_id] * 3
    assert not jobs.progress(lease, 0.7)  # no transition (the job has ended): nothing announced
    assert announced == [job_id] * 3
    other = job(jobs, owner="bob")
    _, lease = jobs.acquire(other)
    assert jobs.progress(lease, 0.95, announce=False)  # the worker's last check before the end
    assert jobs.get(other)[0].progress == 0.95 and announced == [job_id] * 3 + [other]


def test_the_change_that_ends_a_job_is_announced_with_the_job(engine, clock):
    announced = []
    jobs = board(engine, clock, changed=lambda job_id, ended: announced.append((job_id, ended)))
    done, queued = job(jobs), job(jobs, owner="bob")
    _, lease = jobs.acquire(done)
    assert jobs.progress(lease, 0.5) and jobs.done(lease, "d1", 3)
    assert [ended for _, ended in announced[:2]] == [None, None]  # RUNNING, then its progress
    assert announced[2][1] == jobs.get(done)[0] and announced[2][1].status is JobStatus.DONE
    assert announced[2][1].chunk_count == 3
    assert jobs.cancel(queued) == "cancelled"
    assert announced[3] == (queued, jobs.get(queued)[0]) and announced[3][1].status is JobStatus.CANCELLED


def test_an_announcement_that_fails_leaves_the_change_standing(engine, clock):
    def broken(job_id: str, ended) -> None:
        raise ConnectionError("Redis is down")

    jobs = board(engine, clock, changed=broken)
    job_id = job(jobs)
    _, lease = jobs.acquire(job_id)
    assert jobs.done(lease, "d1", 3) and status(jobs, job_id) is JobStatus.DONE


def test_job_versions_count_and_announce_changes_in_redis_with_an_expiry():
    import uuid

    import redis

    from schema.rag import job_version_key
    from services.rag.jobs import JobVersions
    from tests.support.stack import REDIS_URL

    client, prefix = redis.Redis.from_url(REDIS_URL), f"test-{uuid.uuid4().hex[:8]}:"
    key = job_version_key(prefix, "j1")
    try:
        versions = JobVersions(client, prefix)
        with client.pubsub(ignore_subscribe_messages=True) as listener:
            listener.subscribe(versions.channel)
            versions("j1")
            versions("j1")
            ended = Job(id="j1", status=JobStatus.DONE, progress=1.0, document_id="d1", chunk_count=3)
            versions("j1", ended)
            announced = []
            for _ in range(10):  # the subscription's confirmation reads as None
                message = listener.get_message(timeout=1)
                if message:
                    announced.append(message["data"])
                if len(announced) == 3:
                    break
        assert client.get(key) == b"3" and 0 < client.ttl(key) <= JobVersions.TTL
        assert announced[:2] == [b"j1 1", b"j1 2"]  # each new version, announced
        assert announced[2] == b"j1 3 " + ended.model_dump_json().encode()  # the end, with the job
        JobVersions(redis.Redis(port=1, socket_connect_timeout=0.2), prefix)("j1")  # no Redis: no error
    finally:
        client.delete(key)
        client.close()
