"""Hostile files, fairness, cancellation, Redis loss and clean stops, each against a real rag
process of its own (own vhost, Redis prefix, data dir) on the real RabbitMQ and Redis.

The figures the issue asks for are printed (run with ``-s``): bomb time-to-FAILED and rag RSS,
a small job's latency behind two slow files, cancel latency.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import subprocess
import time

import kombu
import psutil
import pytest

from services.rag.catalog import Catalog, make_engine
from services.rag.files import Files
from services.rag.jobs import JobBoard
from tests.integration.rag.test_jobs_rpc import OwnRag, text_of
from tests.integration.rag.test_service_rpc import As, someone
from tests.support import samples
from tests.support.postgres import fresh_database
from tests.support.servers import RedisServer
from tests.support.stack import RABBITMQCTL

pytestmark = pytest.mark.timeout(420)

FINISHED = ("DONE", "FAILED", "CANCELLED")


async def until(check, timeout: float, what: str, every: float = 0.1):
    """Poll ``check`` (async) until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        await asyncio.sleep(every)


async def job_when(alice: As, job_id: str, condition, timeout: float = 120.0, what: str = "job") -> dict:
    async def check():
        job = await alice("job", job_id)
        return job if condition(job) else None

    return await until(check, timeout, what)


def board_of(rag: OwnRag) -> JobBoard:
    return JobBoard(make_engine(catalog_url(rag)))


def catalog_url(rag: OwnRag) -> str:
    return rag.env.get("AGENTHUB_RAG_DATABASE_URL") or f"sqlite:///{rag.isolation.data_dir / 'rag' / 'catalog.sqlite3'}"


def staged(rag: OwnRag) -> list[str]:
    return [p.name for p in (rag.isolation.data_dir / "rag" / "staging").iterdir()]


async def gone_from_staging(rag: OwnRag, job_ids: set[str]) -> None:
    async def check():
        return not job_ids & set(staged(rag))

    await until(check, 10, "staged files removed")


@pytest.fixture(scope="module")
def rag(tmp_path_factory):
    """One rag with the default fairness (2 slots, 1 per user) and a single attempt per job: a
    clean stop that used an attempt would fail the job."""
    rag = OwnRag(
        tmp_path_factory,
        AGENTHUB_RAG_JOB_MAX_ATTEMPTS="1",
        AGENTHUB_RAG_JOB_LEASE_SECONDS="6",
        AGENTHUB_LOG_FORMAT="json",
    )
    rag.start()
    yield rag
    rag.close()


@pytest.fixture
async def client(rag):
    client = await rag.client()
    yield client
    await client.close()


def tree_rss(pid: int) -> tuple[int, int]:
    """(RSS of the process, largest RSS among its children), in bytes."""
    process = psutil.Process(pid)
    children = [c.memory_info().rss for c in process.children(recursive=True) if c.is_running()]
    return process.memory_info().rss, max(children, default=0)


async def test_a_docx_bomb_fails_fast_and_rag_memory_stays_flat(rag, client):
    bomb = samples.docx_bomb(1024**3)  # 1 GiB of XML in about 3 MB
    alice = As(client, someone())
    pid = rag.processes[-1].process.pid
    before, _ = tree_rss(pid)
    started = time.monotonic()
    job = await alice("upload", filename="bomb.docx", content_base64=base64.b64encode(bomb).decode(), timeout=60)
    peak, child_peak = before, 0
    while job["status"] not in FINISHED:
        assert time.monotonic() - started < 60, job
        rss, child = tree_rss(pid)
        peak, child_peak = max(peak, rss), max(child_peak, child)
        await asyncio.sleep(0.05)
        job = await alice("job", job["id"])
    elapsed = time.monotonic() - started
    print(
        f"\nbomb ({len(bomb) / 1e6:.1f} MB → 1 GiB): FAILED in {elapsed:.2f} s; rag RSS {before / 1e6:.0f} → "
        f"peak {peak / 1e6:.0f} MB; converter child peak {child_peak / 1e6:.0f} MB"
    )
    assert job["status"] == "FAILED" and job["error_code"] == "ZIP_TOO_LARGE", job
    assert "(limit 256 MiB)" in job["error"]
    assert peak - before < 150e6, f"rag grew by {(peak - before) / 1e6:.0f} MB"
    assert elapsed < 30
    document = await alice("document", job["document_id"])
    assert document["status"] == "FAILED" and document["chunk_count"] == 0
    await gone_from_staging(rag, {job["id"]})


async def test_two_slow_files_do_not_block_another_users_small_job_and_cancel_stops_them(rag, client):
    alice, bob = As(client, someone()), As(client, someone())
    slow = [
        await alice("ingest_text", title=f"slow{n}.txt", text=text_of(1024 * 1024, seed=n), timeout=60)
        for n in (11, 12)
    ]
    await job_when(alice, slow[0]["id"], lambda j: j["status"] == "RUNNING", what="first slow job running")
    started = time.monotonic()
    small = await bob("ingest_text", title="small.txt", text="Bob's note: the ferry leaves at noon from pier four.")
    small = await job_when(bob, small["id"], lambda j: j["status"] in FINISHED, timeout=60, what="bob's job")
    latency = time.monotonic() - started
    first, second = [await alice("job", j["id"]) for j in slow]
    print(
        f"\nsmall job behind two slow files of another user: DONE in {latency:.2f} s "
        f"(slow jobs: {first['status']} {first['progress']:.2f}, {second['status']})"
    )
    assert small["status"] == "DONE", small
    assert first["status"] == "RUNNING" and second["status"] == "QUEUED", (first, second)
    # the QUEUED job's wake-up is held, not acknowledged, until some process takes the job
    assert int(ingestion_queue_info(rag, "messages_unacknowledged")[0]) >= 1

    # bob may not cancel alice's job: it does not exist for him
    with pytest.raises(Exception) as denied:
        await bob("cancel_job", first["id"])
    assert "NOT_FOUND" in repr(denied.value) or "NotFound" in repr(denied.value)

    queued = await alice("cancel_job", second["id"])
    assert queued["status"] == "CANCELLED" and queued["error_code"] == "CANCELLED"
    started = time.monotonic()
    running = await alice("cancel_job", first["id"])
    assert running["status"] in ("RUNNING", "CANCELLED")
    running = await job_when(alice, first["id"], lambda j: j["status"] in FINISHED, timeout=30, what="cancel")
    cancel_latency = time.monotonic() - started
    print(f"cancel of a RUNNING job: CANCELLED in {cancel_latency:.2f} s")
    assert running["status"] == "CANCELLED" and cancel_latency < 10, running
    hits = await alice("search", "lantern orchard meadow", top_k=5)
    assert not [h for h in hits if h["document_id"] in (first["document_id"], second["document_id"])]
    await gone_from_staging(rag, {first["id"], second["id"]})
    again = await alice("cancel_job", first["id"])
    assert again["status"] == "CANCELLED"
    await queue_drained(rag)


async def test_a_clean_stop_gives_the_job_back_without_using_an_attempt(rag, client):
    """With one attempt per job, a stop that used it would leave the job FAILED on restart.

    The document is long enough that the job cannot end while the stop is under way (Nameko stops
    its entrypoints before the ingestion queue gives jobs back: under a second, while the whole of
    a 300 KiB job took 1.9 s on a fast embedder; 512 KiB is 8-11 s on 2 cores with AVX2 alone, done
    twice here)."""
    alice = As(client, someone())
    job = await alice("ingest_text", title="long.txt", text=text_of(512 * 1024, seed=21), timeout=60)
    await job_when(alice, job["id"], lambda j: j["status"] == "RUNNING" and j["progress"] >= 0.06, what="job running")
    process = rag.processes[-1]
    process.process.terminate()
    process.process.wait(timeout=90)
    found = board_of(rag).get(job["id"])[0]
    assert found.status.value == "QUEUED" and found.attempts == 0, found
    log = process.log_path.read_text(errors="replace")
    assert any(
        json.loads(line).get("outcome") == "stopped"
        for line in log.splitlines()
        if line.startswith("{") and job["id"] in line
    ), log[-2000:]
    rag.start()
    fresh = await rag.client()
    try:
        done = await job_when(
            As(fresh, alice.user_id),
            job["id"],
            lambda j: j["status"] in FINISHED,
            timeout=180,
            what="job after restart",
        )
    finally:
        await fresh.close()
    assert done["status"] == "DONE" and done["attempts"] == 1, done


# ---------------------------------------------------------------- Redis down, quorum queue


def submit_directly(rag: OwnRag, owner: str, text: str, publish: bool) -> str:
    """A job recorded in SQL as the submission records it; its wake-up published or lost."""
    engine = make_engine(catalog_url(rag))
    catalog, board, files = Catalog(engine), JobBoard(engine), Files(rag.isolation.data_dir / "rag")
    collection = catalog.default_collection(owner)
    content = text.encode()
    content_hash = hashlib.sha256(content).hexdigest()
    source = f"direct-{content_hash[:8]}.txt"
    document_id = catalog.prepare(
        owner_id=owner,
        collection_id=collection.id,
        source=source,
        title=source,
        mime_type="text/plain",
        size_bytes=len(content),
        metadata={},
    )
    job_id = f"{content_hash[:32]}"
    files.stage(job_id, content)
    board.create(
        {
            "owner_id": owner,
            "collection_id": collection.id,
            "title": source,
            "source": source,
            "mime_type": "text/plain",
            "size_bytes": len(content),
            "content_hash": content_hash,
            "metadata": {},
            "document_id": document_id,
        },
        job_id=job_id,
    )
    if publish:
        from services.rag.queue import EXCHANGE, ingestion_queue

        with kombu.Connection(rag.isolation.amqp_uri, connect_timeout=10) as connection:
            connection.Producer().publish(
                {"job_id": job_id},
                exchange=EXCHANGE,
                routing_key="job",
                declare=[ingestion_queue("quorum")],
                serializer="json",
                delivery_mode=2,
            )
    engine.dispose()
    return job_id


def ingestion_queue_info(rag: OwnRag, *fields: str) -> list[str]:
    out = subprocess.run(
        [RABBITMQCTL, "-q", "list_queues", "-p", rag.isolation.vhost, "name", *fields],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    return rows.get("agenthub.rag.ingestion", [])


async def queue_drained(rag: OwnRag) -> None:
    """Every wake-up acknowledged once its job was taken: nothing ready, nothing held."""

    async def check():
        return ingestion_queue_info(rag, "messages_ready", "messages_unacknowledged") == ["0", "0"]

    await until(check, 30, "ingestion queue drained", every=1.0)


async def test_with_redis_down_a_consumed_or_lost_message_still_runs_its_job_on_postgresql_and_a_quorum_queue(
    tmp_path_factory,
):
    with contextlib.ExitStack() as cleanup:
        redis_server = RedisServer(tmp_path_factory.mktemp("redis")).start()
        cleanup.callback(redis_server.kill)
        database = cleanup.enter_context(fresh_database())
        rag = OwnRag(
            tmp_path_factory,
            AGENTHUB_REDIS_URL=redis_server.url,
            AGENTHUB_QUEUE_TYPE="quorum",
            AGENTHUB_RAG_DATABASE_URL=database,
        )
        cleanup.callback(rag.close)
        rag.start()
        redis_server.stop(keep_data=False)  # from here on Redis is gone for good
        owner = someone()
        consumed = submit_directly(rag, owner, "Harbour seals rest on sandbanks at low tide.", publish=True)
        lost = submit_directly(rag, owner, "Grey seals pup on remote beaches in autumn.", publish=False)
        board = board_of(rag)
        cleanup.callback(board.engine.dispose)

        async def both_done():
            jobs = [board.get(job_id)[0] for job_id in (consumed, lost)]
            return jobs if all(j.status.value in FINISHED for j in jobs) else None

        jobs = await until(both_done, 120, "jobs with Redis down", every=0.25)
        assert [j.status.value for j in jobs] == ["DONE", "DONE"], jobs
        await gone_from_staging(rag, {consumed, lost})
        assert ingestion_queue_info(rag, "type") == ["quorum"]
        await queue_drained(rag)
