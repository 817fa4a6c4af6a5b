"""How the worker keeps the embedder busy: one embedding line fed by every job in flight, and
preparations (convert, split, embed) that may start before the job's lease.

Why: the embedder is ingestion's limit (``bench/ingest.py``). Running one job after another,
it idled while a job's file was converted and split, while its chunks were written and its row
updated, and while the scheduler took the next job; a job's last batch was a partial one.

* ``EmbeddingLine``: green threads (one per embedder lane: ``Embedder.lanes``, by default one per
  core) embed chunks from every preparation, in full batches across jobs, each batch in a native
  thread of its own, so the cores embed side by side. Chunks of running jobs go first, taken round
  robin (fair per chunk between the jobs, so between users); chunks of preparations ahead only
  fill what is left.
* ``Preparation``: convert + split (``Indexer.prepare_file``; a limited child process for
  untrusted files), then embedding through the line. ``run_job`` starts one once it holds the
  lease, or adopts the one the scheduler started ahead (``IngestionWorker.keep_ahead``) for the
  ``PREPARE_AHEAD`` oldest QUEUED jobs while a slot stood empty because of the per-user quota.
  Ahead, the job stays QUEUED: its lease, attempts, cancel and the quota are untouched; the
  preparation is dropped when the slot is needed or the job is no longer among the next ones. Its
  chunks may already be in the store (``written``): a running job's store write takes the chunks
  of the preparations ahead that are embedded, so one commit serves several jobs. They stay
  invisible (no version of a document shows until the catalog makes it current) until the job's
  own run activates them, or are deleted when the job ends otherwise.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

from eventlet import patcher

from core import metrics
from core.offload import offload, offloading

log = logging.getLogger("agenthub.rag.ingestion")

# Jobs prepared ahead while a slot stands empty. Three: the running job waits for the first one
# ahead to share its store write (``IngestionWorker._sharing``), and the lanes still need the next
# ones' chunks while both jobs end and the scheduler takes the next (with two, the lanes stood idle
# 5 % of bench/ingest.py's run against 3 %; with one, both lanes stood idle whenever a job was
# written, twice per two jobs).
PREPARE_AHEAD = 3
IN_FLIGHT = 2  # batches each lane keeps in native threads: one embedding, one ready to start


def spent(stage: str, since: float) -> float:
    """Adds the seconds since ``since`` (``perf_counter``) to ``stage``'s total; returns now."""
    now = time.perf_counter()
    metrics.INGEST_STAGE_SECONDS.labels(stage).inc(now - since)
    return now


class Preparation:
    """One job's chunks on their way to being embedded; ``finished`` fires with them or with an error."""

    def __init__(self, job_id: str, urgent: bool) -> None:
        from eventlet.event import Event

        self.job_id, self.urgent = job_id, urgent
        self.chunks: list = []
        self.embedded: list = []
        self.pending: deque = deque()  # (index, chunk) not yet handed to the embedder
        self.count = 0  # chunks embedded
        self.error: BaseException | None = None
        self.abandoned = False
        self.written = False  # its chunks went into the store with a running job's (not current yet)
        self.finished = Event()

    def fraction(self) -> float:
        return self.count / len(self.chunks) if self.chunks else 0.0

    def ready(self) -> bool:
        return self.finished.ready()

    def fail(self, error: BaseException) -> None:
        if not self.finished.ready():
            self.error = error
            self.pending.clear()
            self.finished.send(None)

    def abandon(self) -> None:
        """Nobody will use it: its chunks leave the line and its conversion is told to stop."""
        self.abandoned = True
        self.pending.clear()


class EmbeddingLine:
    """Batches of ``batch`` chunks to ``embed``; ``lanes`` of them at once (each ``run`` is a lane)."""

    def __init__(self, embed: Callable[[list], list], batch: int, lanes: int = 1) -> None:
        from eventlet.queue import LightQueue
        from eventlet.semaphore import Semaphore

        self.embed, self.batch, self.lanes = embed, batch, lanes
        self.waiting: list[Preparation] = []
        self._wake: LightQueue = LightQueue()
        self.running = False
        # Taken in the native thread that embeds (off the hub); green where nothing is offloaded
        # (tests, scripts: a native one would block the hub)
        self._cores = (patcher.original("threading").BoundedSemaphore if offloading() else Semaphore)(lanes)

    def add(self, preparation: Preparation) -> None:
        self.waiting.append(preparation)
        self.poke()

    def poke(self) -> None:
        """Something changed (chunks added, a preparation became urgent)."""
        self._wake.put(None)

    def _take(self) -> list[tuple[Preparation, tuple[int, object]]]:
        self.waiting = [p for p in self.waiting if p.pending and not p.abandoned]
        urgent = [p for p in self.waiting if p.urgent]
        # The last chunks are shared out between the lanes instead of one full batch leaving the
        # other lanes idle (a smaller batch costs no more per chunk on one thread).
        size = min(self.batch, -(-sum(len(p.pending) for p in self.waiting) // self.lanes))
        picked: list[tuple[Preparation, tuple[int, object]]] = []
        while len(picked) < size and urgent:
            for preparation in list(urgent):  # round robin between the running jobs
                if len(picked) >= size:
                    break
                picked.append((preparation, preparation.pending.popleft()))
                if not preparation.pending:
                    urgent.remove(preparation)
        for preparation in self.waiting:
            while len(picked) < size and preparation.pending:
                picked.append((preparation, preparation.pending.popleft()))
        return picked

    def run(self) -> None:
        """One lane of the line: a green thread (a managed thread of the container) that keeps
        ``IN_FLIGHT`` batches in native threads: one embedding, the next one waiting for a core
        (``_cores``). When a batch ends the waiting one starts at once, in native code; the hub
        hands back the results and hands over the next batch meanwhile, so the lanes never wait
        for the hub, which shares the cores with them (with one batch at a time, each batch ended
        with the lane idle until the hub was scheduled)."""
        from eventlet import spawn_n
        from eventlet.semaphore import Semaphore

        self.running = True
        slots = Semaphore(IN_FLIGHT)
        while True:
            slots.acquire()
            picked = self._take()
            while not picked:
                self._wake.get()
                picked = self._take()
            while not self._wake.empty():
                self._wake.get_nowait()
            if any(p.pending and not p.abandoned for p in self.waiting):
                self.poke()  # more to embed: the next idle lane takes it
            spawn_n(self._embed_batch, picked, slots.release)

    def _on_a_core(self, chunks: list) -> tuple[list, float]:
        """In a native thread: ``chunks`` embedded once a core is free; and the seconds it took."""
        with self._cores:
            started, cpu = time.perf_counter(), time.thread_time()
            embedded = self.embed(chunks)  # the model runs in this thread (one intra-op thread a lane)
            metrics.INGEST_STAGE_SECONDS.labels("embed_cpu").inc(time.thread_time() - cpu)
            return embedded, time.perf_counter() - started

    def _embed_batch(self, picked: list[tuple[Preparation, tuple[int, object]]], done: Callable[[], None]) -> None:
        try:
            documents, seconds = offload(self._on_a_core, [chunk for _, (_, chunk) in picked])
        except Exception as exc:  # the model failed: every job in this batch gets the error
            log.warning("embedding a batch failed", exc_info=True)
            for preparation in {p for p, _ in picked}:
                preparation.fail(exc)
            return
        finally:
            done()
        metrics.INGEST_STAGE_SECONDS.labels("embed").inc(seconds)
        metrics.CHUNKS_EMBEDDED.inc(len(documents))
        touched = []
        for (preparation, (index, _)), document in zip(picked, documents):
            preparation.embedded[index] = document
            preparation.count += 1
            touched.append(preparation)
        for preparation in set(touched):
            if preparation.count == len(preparation.chunks) and not preparation.ready():
                preparation.finished.send(None)
