"""Running ingestion jobs: take a QUEUED job's lease, convert and split its staged file,
embed the chunks, write them, make the new version current, end the job.

``IngestionQueue`` (``queue.py``) decides which jobs this process runs and calls
``run_job``; the reaper (a timer of the service) calls ``reap``. Job state lives in
SQL (``jobs.py``): progress and the end state are written only while this worker
holds the lease, so a worker that lost it stops without touching anything.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from greenlet import GreenletExit

from core import metrics
from core.offload import offload, offloading
from schema.rag import JobStatus
from services.common.green import interrupt
from services.rag.catalog import Catalog, DocumentGone
from services.rag.corpus import CorpusVersion
from services.rag.files import Files
from services.rag.ingestion import ChunkMeta, ConversionStopped, Indexer, IngestionError
from services.rag.jobs import JobBoard, Lease
from services.rag.pipeline import EmbeddingLine, Preparation, spent
from services.rag.stores.base import version_filter
from services.rag.submission import Wake

log = logging.getLogger("agenthub.rag")

PROGRESS_EVERY = 1.0  # seconds between a running job's progress writes (each also renews its lease)
# A job whose chunks are embedded waits for the next job's preparation to share its store write
# (``_sharing``) when that one has at most this many chunks left to embed, for at most this long:
# a commit costs the embedded store about 8-13 ms of CPU whatever its size, once per write.
SHARE_WAIT_CHUNKS = 64
SHARE_WAIT_SECONDS = 2.0


class LeaseLost(Exception):
    """Another worker took the job over; this one stops without touching anything."""


class JobCancelled(Exception):
    """The job's owner cancelled it while it ran: its partial chunks go, it ends CANCELLED."""


class IngestionWorker:
    def __init__(
        self,
        *,
        catalog: Catalog,
        store,
        indexer: Indexer,
        board: JobBoard,
        files: Files,
        corpus: CorpusVersion,
        wake: Wake,
        embed_batch: int = 16,
    ) -> None:
        self.catalog, self.store, self.indexer, self.board = catalog, store, indexer, board
        self.files, self.corpus, self.wake, self.embed_batch = files, corpus, wake, embed_batch
        self.running: dict[str, Lease] = {}  # job id → lease, of the jobs this process works on
        self.written: dict[str, list[str]] = {}  # job id → chunk ids written, not yet current
        self.stopping = False  # set by release_all: a job failing from here on was given back, not failed
        self.line = EmbeddingLine(indexer.embed, embed_batch, lanes=getattr(indexer.embedder, "lanes", 1))
        self.ahead: dict[str, Preparation] = {}  # job id → its preparation started before its lease
        self._spawn = None

    def start(self, spawn) -> None:
        """Under the service (``IngestionQueue.start``): the embedding line's lanes in their green
        threads, and preparations in theirs (``spawn``: the container's ``spawn_managed_thread``).
        Without it (tests, scripts) ``run_job`` prepares and embeds in the calling thread."""
        self._spawn = spawn
        for lane in range(self.line.lanes):
            spawn(self.line.run, identifier=f"rag.ingestion.embedder.{lane}")

    def run_job(self, job_id: str) -> str:
        """Process one job if it can be taken now; returns what happened (for logs and tests)."""
        started = time.perf_counter()
        outcome, lease = self.board.acquire(job_id)
        spent("claim", started)
        if outcome in ("failed", "cancelled"):
            found = self.board.get(job_id)
            if found is not None:
                self._finished(job_id, found[1], found[0].error or outcome)
            return outcome
        if lease is None:
            return outcome  # missing, finished, deferred (owner at quota), or alive in another worker
        self.running[job_id] = lease
        heartbeat = self._start_heartbeat(lease)
        spec = lease.spec
        try:
            self._index(lease)
            return "done"
        except JobCancelled:
            self._discard_partial(lease)
            if self.board.cancelled(lease):
                self._finished(job_id, spec, "cancelled by request")
            return "cancelled"
        except LeaseLost:
            return "lost"
        except IngestionError as exc:
            self._discard_partial(lease)
            if self.board.failed(lease, str(exc), exc.code):
                self._finished(job_id, spec, str(exc))
            return "failed"
        except Exception as exc:  # transient (store down...) until attempts run out
            if self.stopping:  # given back by release_all (the store may be closing): not this job's fault
                return "stopped"
            log.exception("ingestion job %s failed", job_id)
            reason = f"{type(exc).__name__}: {exc}"[:300]
            if self.board.retry_later(lease, reason):
                try:
                    self.wake(job_id)
                except Exception:  # the poll finds it
                    log.warning("could not republish ingestion job %s", job_id, exc_info=True)
                return "retry"
            self._discard_partial(lease)
            self._finished(job_id, spec, reason)
            return "failed"
        finally:
            self.running.pop(job_id, None)
            self.written.pop(job_id, None)
            if heartbeat is not None:
                interrupt(heartbeat, GreenletExit())

    def release_all(self) -> list[str]:
        """A clean stop: every job this process runs goes back to QUEUED without using an attempt."""
        self.stopping = True
        for preparation in self.ahead.values():
            preparation.abandon()
        released = []
        for job_id, lease in list(self.running.items()):
            try:
                if self.board.release(lease):
                    released.append(job_id)
            except Exception:  # the lease lapses instead and the reaper requeues it
                log.warning("could not release ingestion job %s", job_id, exc_info=True)
        return released

    def reap(self) -> list[str]:
        """Requeue jobs whose worker stopped heartbeating, end those out of attempts, and remove
        staged files no active job needs (called by a timer)."""
        requeued, ended = self.board.reap()
        for job_id, spec, error in ended:
            self._finished(job_id, spec, error)
        for job_id in requeued:
            try:
                self.wake(job_id)
            except Exception:  # the poll finds it
                log.warning("could not republish ingestion job %s", job_id, exc_info=True)
        staged = self.files.staged_ids(older_than=60.0)
        for job_id in set(staged) - self.board.active_ids(staged):
            self.files.unstage(job_id)
        return requeued

    def keep_ahead(self, next_jobs: Sequence[str], keep: AbstractSet[str] = frozenset()) -> None:
        """The scheduler's word on preparing ahead: ``next_jobs`` (the oldest QUEUED jobs, offered
        while a slot stands empty) are prepared if they are not already; other preparations ahead
        are dropped unless in ``keep`` (jobs given a slot, whose runs adopt them)."""
        for job_id in [j for j in self.ahead if j not in next_jobs and j not in keep]:
            dropped = self.ahead.pop(job_id)
            dropped.abandon()
            if dropped.written:
                self._forget_written_ahead(dropped)
        if self._spawn is None:
            return
        for job_id in next_jobs:
            if job_id in self.ahead or job_id in self.running:
                continue
            found = self.board.get(job_id)
            if found is None or found[0].status.value != "QUEUED":
                continue
            self.ahead[job_id] = self._prepare(job_id, found[1], urgent=False)

    # ------------------------------------------------------------ one job

    def _meta(self, job_id: str, spec: dict[str, Any]) -> ChunkMeta:
        return ChunkMeta(
            document_id=spec["document_id"],
            version=self._version(job_id, spec),
            collection_id=spec["collection_id"],
            owner_id=spec["owner_id"],
            title=spec["title"],
            mime_type=spec["mime_type"],
            user=spec.get("metadata") or {},
        )

    def _prepare(self, job_id: str, spec: dict[str, Any], urgent: bool) -> Preparation:
        """A preparation in its own green thread: convert and split, then into the embedding line."""
        preparation = Preparation(job_id, urgent)

        def should_stop() -> bool:
            return preparation.abandoned or (preparation.urgent and self.board.cancel_requested(job_id))

        def convert() -> None:
            started = time.perf_counter()
            try:
                chunks = self.indexer.prepare_file(
                    self.files.staged_path(job_id), spec["mime_type"], self._meta(job_id, spec), should_stop=should_stop
                )
            except Exception as exc:
                preparation.fail(exc)
                return
            finally:
                spent("convert", started)
            if preparation.abandoned:
                return
            if not chunks:  # never so (no text is an IngestionError), but never wait forever either
                preparation.finished.send(None)
                return
            preparation.chunks, preparation.embedded = chunks, [None] * len(chunks)
            preparation.pending.extend(enumerate(chunks))
            self.line.add(preparation)

        spawn = self._spawn
        assert spawn is not None  # preparations run under start()
        spawn(convert, identifier="rag.ingestion.prepare")
        return preparation

    def _embedded(self, lease: Lease) -> tuple[list, bool]:
        """The job's chunks with their embeddings, and whether an earlier job's store write took
        them already: through the line (adopting a preparation made ahead when there is one) under
        the service; in this thread otherwise."""
        job_id = lease.job_id
        if self._spawn is None:
            return self._embedded_here(lease), False
        preparation = self.ahead.pop(job_id, None)
        if (
            preparation is None
            or preparation.abandoned
            or (preparation.ready() and not isinstance(preparation.error, (IngestionError, type(None))))
        ):
            if preparation is not None:
                preparation.abandon()
            preparation = self._prepare(job_id, lease.spec, urgent=True)
        else:
            preparation.urgent = True
            self.line.poke()
        try:
            while not preparation.ready():
                preparation.finished.wait(timeout=PROGRESS_EVERY)
                if not preparation.ready():  # each write also says whether the job was cancelled
                    self._progress(lease, 0.05 + 0.85 * preparation.fraction())
        except BaseException:
            preparation.abandon()
            raise
        if isinstance(preparation.error, ConversionStopped):
            raise JobCancelled(job_id)
        if preparation.error is not None:
            raise preparation.error
        return preparation.embedded, preparation.written

    def _embedded_here(self, lease: Lease) -> list:
        job_id = lease.job_id
        started = time.perf_counter()
        try:
            chunks = self.indexer.prepare_file(
                self.files.staged_path(job_id),
                lease.spec["mime_type"],
                self._meta(job_id, lease.spec),
                should_stop=lambda: self.board.cancel_requested(job_id),
            )
        except ConversionStopped:
            raise JobCancelled(job_id) from None
        finally:
            spent("convert", started)
        embedded, reported = [], time.monotonic()
        for start in range(0, len(chunks), self.embed_batch):
            started = time.perf_counter()
            embedded += offload(self.indexer.embed, chunks[start : start + self.embed_batch])
            spent("embed", started)
            if time.monotonic() - reported >= PROGRESS_EVERY:
                reported = time.monotonic()
                self._progress(lease, 0.05 + 0.85 * len(embedded) / len(chunks))
        metrics.CHUNKS_EMBEDDED.inc(len(embedded))
        return embedded

    def _start_heartbeat(self, lease: Lease):
        if not offloading():
            return None
        import eventlet

        def beat() -> None:
            while True:
                eventlet.sleep(self.board.lease_seconds / 3)
                if not self.board.heartbeat(lease):
                    return

        return eventlet.spawn(beat)

    def _sharing(self) -> list[Preparation]:
        """Preparations ahead whose chunks go into the running job's store write: each one already
        embedded and, when the next one is nearly embedded, that one too (waited for briefly). A
        commit's cost hardly depends on its size, so one user's files, run one after another, pay
        one commit for two jobs. Written ahead, their chunks stay invisible until their own runs
        make their versions current."""

        def usable(preparation: Preparation) -> bool:
            return bool(preparation.chunks) and preparation.error is None and not preparation.abandoned

        waiting = [p for p in self.ahead.values() if usable(p) and not p.written]
        if waiting and not waiting[0].ready() and len(waiting[0].chunks) - waiting[0].count <= SHARE_WAIT_CHUNKS:
            waiting[0].finished.wait(timeout=SHARE_WAIT_SECONDS)
        return [p for p in waiting if p.ready() and usable(p)]

    def _still_stored(self, spec: dict[str, Any], version: str, count: int) -> bool:
        """Whether the chunks an earlier job wrote for this one are all still there (another job of
        the same document, made current meanwhile, removed every other version's)."""
        return offload(self.store.count, version_filter(spec["document_id"], version)) == count

    def _forget_written_ahead(self, preparation: Preparation) -> None:
        """A preparation dropped after its chunks were written: they go when its job ended without
        them (cancelled, failed, gone). A job still QUEUED or run by another process keeps them: its
        run writes the same chunk ids again."""
        try:
            found = self.board.get(preparation.job_id)
            if found is not None and found[0].status not in (JobStatus.CANCELLED, JobStatus.FAILED):
                return
            offload(self.store.delete_chunks, [chunk.id for chunk in preparation.chunks])
        except Exception:  # invisible anyway; the document's next version or deletion removes them
            log.warning("could not remove the chunks of job %s written ahead", preparation.job_id, exc_info=True)

    def _discard_partial(self, lease: Lease) -> None:
        """Chunks this attempt may have written, never made current: removed."""
        written = self.written.pop(lease.job_id, None)
        if not written:
            return
        try:
            offload(self.store.delete_chunks, written)
        except Exception:  # invisible anyway (not the catalog's version); logged for the operator
            log.warning("could not remove partial chunks of job %s", lease.job_id, exc_info=True)

    def _finished(self, job_id: str, spec: dict[str, Any], error: str | None) -> None:
        if error and spec.get("document_id"):
            self.catalog.mark_failed(spec["document_id"], error)
        self.files.unstage(job_id)

    def _progress(self, lease: Lease, value: float, announce: bool = True) -> None:
        if not self.board.progress(lease, value, announce):
            if self.board.cancel_requested(lease.job_id):
                raise JobCancelled(lease.job_id)
            raise LeaseLost(lease.job_id)

    @staticmethod
    def _version(job_id: str, spec: dict[str, Any]) -> str:
        return f"{spec['content_hash'][:16]}{job_id[:8]}"

    def _index(self, lease: Lease) -> None:
        spec, job_id = lease.spec, lease.job_id
        document_id = spec["document_id"]
        version = self._version(job_id, spec)
        embedded, written_ahead = self._embedded(lease)
        self.written[job_id] = [chunk.id for chunk in embedded]
        write = not (written_ahead and self._still_stored(spec, version, len(embedded)))
        sharing = self._sharing() if write else []  # none without the service: nothing is prepared ahead
        started = time.perf_counter()
        if write:  # one store write (one commit) for this job and the jobs ahead that share it
            offload(self.indexer.write, embedded + [chunk for p in sharing for chunk in p.embedded])
            for preparation in sharing:
                preparation.written = True
        started = spent("write", started)
        # The last check for a cancel or a lost lease before it shows. Not announced: the job's end
        # follows within milliseconds, and each announcement has every watcher read the job again.
        self._progress(lease, 0.95, announce=False)
        original = self.files.keep(job_id, f"{document_id}-{version}")
        try:
            previous = self.catalog.activate(
                document_id,
                version=version,
                content_hash=spec["content_hash"],
                chunk_count=len(embedded),
                title=spec["title"],
                mime_type=spec["mime_type"],
                size_bytes=spec["size_bytes"],
                metadata=spec.get("metadata") or {},
                original=original,
            )
        except DocumentGone:  # deleted while indexing: leave nothing behind
            offload(self.store.delete_document, document_id)
            self.files.forget(original)
            raise IngestionError("the document was deleted while it was being indexed") from None
        started = spent("finish", started)
        offload(self.store.remove_stale, document_id, version)  # old chunks: already invisible
        started = spent("write", started)
        self.files.forget(previous)
        self.corpus.bump(required=False)
        if self.board.done(lease, document_id, len(embedded)):
            self._finished(job_id, spec, None)
        spent("finish", started)
