"""The ingestion pipeline as the service runs it: the embedding line in a green thread, and jobs
prepared ahead while a slot stands empty (the real model, the embedded store, Redis, SQLite)."""

from __future__ import annotations

import uuid

import eventlet
import pytest
from haystack import Document

from schema.rag import IngestTextInput, JobStatus, SearchInput, SearchMode
from services.rag.pipeline import EmbeddingLine, Preparation
from tests.support.fixtures.rag import Queue, drain, identity, make_settings

TEXT = (
    "Lighthouses guide ships past rocky coasts at night. Their lamps turn behind large Fresnel lenses. "
    "Keepers once trimmed the wicks every few hours. "
)


@pytest.fixture(scope="module")
def pipelined(tmp_path_factory, redis_client):
    """A library whose worker runs as under the service: ``start`` with green threads."""
    from services.rag.dependencies import build_library

    prefix = f"rag-test-{uuid.uuid4().hex[:8]}:"
    library = build_library(
        make_settings(tmp_path_factory.mktemp("rag"), prefix, rag_chunk_words=40, rag_embed_batch=4),
        redis_client,
        wake=Queue(),
    )
    threads = []
    library.worker.start(lambda fn, identifier=None: threads.append(eventlet.spawn(fn)) or threads[-1])
    yield library
    for thread in threads:
        thread.kill()
    library.store.close()
    library.catalog.close()
    keys = list(redis_client.scan_iter(f"{prefix}*"))
    if keys:
        redis_client.delete(*keys)


def submit(library, who: str, title: str, text: str):
    return library.submission.ingest_text(identity(who), IngestTextInput(title=title, text=text))


def wait_for(check, timeout: float = 30.0):
    deadline = eventlet.hubs.get_hub().clock() + timeout
    while not check():
        assert eventlet.hubs.get_hub().clock() < deadline, "not within the timeout"
        eventlet.sleep(0.01)


def chunks_of(library, document_id: str) -> int:
    return library.store.count({"field": "meta.document_id", "operator": "==", "value": document_id})


def test_a_job_prepared_ahead_stays_queued_unwritten_and_its_run_adopts_the_preparation(pipelined, monkeypatch):
    alice = f"u-{uuid.uuid4().hex[:8]}"
    first = submit(pipelined, alice, "first.txt", TEXT * 6)
    second = submit(pipelined, alice, "second.txt", "Second. " + TEXT * 6)
    worker = pipelined.worker
    worker.keep_ahead([second.id])
    preparation = worker.ahead[second.id]
    wait_for(preparation.ready)
    assert preparation.error is None and preparation.count == len(preparation.chunks) > 4
    job = pipelined.submission.job(identity(alice), second.id)
    assert job.status is JobStatus.QUEUED and job.progress == 0 and job.attempts == 0  # untouched
    assert chunks_of(pipelined, second.document_id) == 0  # nothing written ahead

    converted = []
    real = pipelined.indexer.prepare_file
    monkeypatch.setattr(pipelined.indexer, "prepare_file", lambda *a, **k: converted.append(a[0]) or real(*a, **k))
    assert drain(pipelined) == ["done", "done"]
    assert len(converted) == 1  # the first job's file only: the second's preparation was adopted
    assert worker.ahead == {}
    done = pipelined.submission.job(identity(alice), second.id)
    assert done.status is JobStatus.DONE and done.chunk_count == len(preparation.chunks)
    assert chunks_of(pipelined, second.document_id) == done.chunk_count
    hits = pipelined.reads.search(identity(alice), SearchInput(query="Second lighthouses", mode=SearchMode.KEYWORD))
    assert second.document_id in {h.document_id for h in hits}
    assert first.id not in worker.running


def test_a_preparation_ahead_is_dropped_when_its_slot_is_needed_and_a_cancelled_job_never_runs(pipelined):
    bob = f"u-{uuid.uuid4().hex[:8]}"
    waiting = submit(pipelined, bob, "waiting.txt", "Waiting. " + TEXT * 4)
    worker = pipelined.worker
    worker.keep_ahead([waiting.id])
    preparation = worker.ahead[waiting.id]
    worker.keep_ahead([])  # every slot busy: nothing is prepared ahead
    assert preparation.abandoned and worker.ahead == {}

    worker.keep_ahead([waiting.id])
    wait_for(worker.ahead[waiting.id].ready)
    cancelled = pipelined.submission.cancel_job(identity(bob), waiting.id)
    assert cancelled.status is JobStatus.CANCELLED
    worker.keep_ahead([])
    assert drain(pipelined) == ["finished"]
    assert chunks_of(pipelined, waiting.document_id) == 0


def test_a_job_announces_its_start_and_its_end_but_not_its_last_check_before_the_end(pipelined, monkeypatch):
    """Each announcement has every watcher of the job read it again over RPC; the worker's last
    check for a cancel (progress 0.95) comes milliseconds before the end and tells nobody."""
    carol = f"u-{uuid.uuid4().hex[:8]}"
    submitted = submit(pipelined, carol, "carol.txt", "Carol. " + TEXT * 4)
    board, seen = pipelined.board, []
    real = board.changed

    def changed(job_id: str, ended=None) -> None:
        job = board.get(job_id)[0]
        seen.append((job.status, job.progress))
        real(job_id, ended)

    monkeypatch.setattr(board, "changed", changed)
    assert drain(pipelined) == ["done"]
    assert seen[0] == (JobStatus.RUNNING, 0.0) and seen[-1] == (JobStatus.DONE, 1.0)
    assert all(progress < 0.95 for status, progress in seen[:-1]), seen  # timed writes (1 s) may add some
    assert board.get(submitted.id)[0].status is JobStatus.DONE


def run_now(library, job_id: str) -> str:
    """Runs one announced job now, out of the announcement order."""
    library.wake.jobs.remove(job_id)
    return library.worker.run_job(job_id)


def prepared_ahead(library, job_id: str) -> Preparation:
    """The job prepared ahead, as the scheduler has it while a slot stands empty, once embedded."""
    library.worker.keep_ahead([job_id])
    preparation = library.worker.ahead[job_id]
    wait_for(preparation.ready)
    return preparation


def counting_writes(library, monkeypatch) -> list[int]:
    """The sizes of the store writes from here on (each one commit of the embedded store)."""
    writes: list[int] = []
    real = library.store.write
    monkeypatch.setattr(library.store, "write", lambda chunks: writes.append(len(chunks)) or real(chunks))
    return writes


def keyword_hits(library, who: str, query: str) -> set[str]:
    hits = library.reads.search(identity(who), SearchInput(query=query, mode=SearchMode.KEYWORD))
    return {hit.document_id for hit in hits}


def test_the_job_ahead_shares_the_running_jobs_store_write_and_shows_only_after_its_own_run(pipelined, monkeypatch):
    dave = f"u-{uuid.uuid4().hex[:8]}"
    first = submit(pipelined, dave, "first.txt", "Dave first. " + TEXT * 6)
    second = submit(pipelined, dave, "second.txt", "Zeppelins. " + TEXT * 6)
    ahead = prepared_ahead(pipelined, second.id)
    writes = counting_writes(pipelined, monkeypatch)

    assert run_now(pipelined, first.id) == "done"
    first_chunks = pipelined.submission.job(identity(dave), first.id).chunk_count
    assert writes == [first_chunks + len(ahead.chunks)]  # one write, one commit, for both jobs
    assert ahead.written and chunks_of(pipelined, second.document_id) == len(ahead.chunks)
    assert pipelined.submission.job(identity(dave), second.id).status is JobStatus.QUEUED
    assert second.document_id not in keyword_hits(pipelined, dave, "zeppelins")  # stored, not current

    assert drain(pipelined) == ["done"]
    assert writes == [first_chunks + len(ahead.chunks)]  # its run found its chunks stored
    assert second.document_id in keyword_hits(pipelined, dave, "zeppelins")
    assert pipelined.submission.job(identity(dave), second.id).chunk_count == len(ahead.chunks)


def test_chunks_written_ahead_go_when_their_job_is_cancelled_before_its_run(pipelined):
    erin = f"u-{uuid.uuid4().hex[:8]}"
    first = submit(pipelined, erin, "first.txt", "Erin first. " + TEXT * 4)
    second = submit(pipelined, erin, "second.txt", "Erin second. " + TEXT * 4)
    prepared_ahead(pipelined, second.id)
    assert run_now(pipelined, first.id) == "done"
    assert chunks_of(pipelined, second.document_id) > 0

    pipelined.submission.cancel_job(identity(erin), second.id)
    pipelined.worker.keep_ahead([])  # the scheduler no longer offers it
    assert chunks_of(pipelined, second.document_id) == 0
    assert drain(pipelined) == ["finished"]


def test_chunks_written_ahead_that_a_newer_version_removed_are_written_again_by_their_run(pipelined, monkeypatch):
    """Two versions of one document: the first's activation removes every other version's chunks,
    the second's written ahead among them; the second's run finds them gone and writes them."""
    frank = f"u-{uuid.uuid4().hex[:8]}"
    older = submit(pipelined, frank, "same.txt", "Older. " + TEXT * 4)
    newer = submit(pipelined, frank, "same.txt", "Balloons. " + TEXT * 4)
    assert older.document_id == newer.document_id
    ahead = prepared_ahead(pipelined, newer.id)
    writes = counting_writes(pipelined, monkeypatch)
    assert run_now(pipelined, older.id) == "done"
    assert len(writes) == 1 and ahead.written

    assert drain(pipelined) == ["done"]
    assert writes[1:] == [len(ahead.chunks)]
    assert chunks_of(pipelined, newer.document_id) == len(ahead.chunks)
    assert newer.document_id in keyword_hits(pipelined, frank, "balloons")


def documents(prefix: str, count: int) -> list[Document]:
    return [Document(id=f"{prefix}{n}", content=f"{prefix} {n}") for n in range(count)]


def test_the_line_fills_batches_across_jobs_running_jobs_first_round_robin():
    batches = []
    line = EmbeddingLine(lambda batch: batches.append([d.id for d in batch]) or batch, batch=4)
    preparations = []
    for name, urgent, count in (("ahead", False, 3), ("a", True, 3), ("b", True, 2)):
        preparation = Preparation(name, urgent)
        preparation.chunks = documents(name, count)
        preparation.embedded = [None] * count
        preparation.pending.extend(enumerate(preparation.chunks))
        line.add(preparation)
        preparations.append(preparation)
    thread = eventlet.spawn(line.run)
    try:
        wait_for(lambda: all(p.ready() for p in preparations), timeout=5)
    finally:
        thread.kill()
    assert batches == [["a0", "b0", "a1", "b1"], ["a2", "ahead0", "ahead1", "ahead2"]]
    assert all(p.embedded == p.chunks and p.error is None for p in preparations)


def test_the_lanes_embed_batches_side_by_side_and_every_chunk_once():
    in_flight, most, batches = [0], [0], []

    def embed(batch):
        in_flight[0] += 1
        most[0] = max(most[0], in_flight[0])
        eventlet.sleep(0.02)  # the native thread's run, seen from the hub
        in_flight[0] -= 1
        batches.append([d.id for d in batch])
        return batch

    line = EmbeddingLine(embed, batch=4, lanes=2)
    preparation = Preparation("a", True)
    preparation.chunks = documents("a", 14)
    preparation.embedded = [None] * 14
    preparation.pending.extend(enumerate(preparation.chunks))
    lanes = [eventlet.spawn(line.run) for _ in range(line.lanes)]
    eventlet.sleep(0)  # both lanes wait for work
    line.add(preparation)
    try:
        wait_for(preparation.ready, timeout=5)
    finally:
        for lane in lanes:
            lane.kill()
    assert most[0] == 2  # two batches at once
    assert sorted(i for batch in batches for i in batch) == sorted(d.id for d in preparation.chunks)
    assert sorted(len(b) for b in batches) == [1, 2, 3, 4, 4]  # the last 6 shared out between the lanes
    assert preparation.embedded == preparation.chunks and preparation.error is None


def test_the_line_counts_the_cpu_of_its_embedding_apart_from_the_time_it_took():
    """``embed_cpu`` (what bench/ingest.py sets the rest of the machine's CPU against) counts the
    CPU the model used in the lane's thread, not the time the lane waited."""
    import time

    from core import metrics

    def embed(batch):
        started = time.thread_time()
        while time.thread_time() - started < 0.05:  # the model's work
            pass
        time.sleep(0.1)  # waiting, not working
        return batch

    def counted(stage: str) -> float:
        return metrics.INGEST_STAGE_SECONDS.labels(stage)._value.get()

    before = {stage: counted(stage) for stage in ("embed", "embed_cpu")}
    line = EmbeddingLine(embed, batch=4)
    preparation = Preparation("a", True)
    preparation.chunks = documents("a", 4)
    preparation.embedded = [None] * 4
    preparation.pending.extend(enumerate(preparation.chunks))
    lane = eventlet.spawn(line.run)
    line.add(preparation)
    try:
        wait_for(preparation.ready, timeout=5)
    finally:
        lane.kill()
    cpu, wall = (counted(stage) - before[stage] for stage in ("embed_cpu", "embed"))
    assert 0.05 <= cpu < 0.09, cpu
    assert wall >= cpu + 0.09, (wall, cpu)
