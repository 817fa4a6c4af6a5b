"""The ingestion queue and this process's job scheduler, in its own green threads.

SQL (``services/rag/jobs.py``) is the truth about jobs; a queue message is a
wake-up that says "a job is waiting". A message is acknowledged only once SQL
says its job was taken by some process, or ended, or never existed; if the
database cannot be read it goes back to the queue. So the queue's length
measures the backlog (KEDA scales rag on it) while no message ever decides
whether a job runs: workers poll SQL every ``AGENTHUB_RAG_INGEST_POLL_SECONDS``,
and a job whose message was lost (a broker failure, a crash between commit and
publish) still runs.

The scheduler takes jobs oldest first, at most ``AGENTHUB_RAG_INGEST_CONCURRENCY``
at a time in this process and at most ``AGENTHUB_RAG_INGEST_USER_QUOTA`` of one
user across all processes (the SQL guard in ``JobBoard.acquire``), so one user's
slow files cannot hold every slot.

Why not a Nameko ``@event_handler``: its workers come from the container's one
pool (``max_workers``), shared with RPCs; twenty long uploads would take every
slot and ``health`` or ``search`` would wait for them. Jobs run here in managed
threads outside that pool. A clean stop gives this process's jobs back
(QUEUED, no attempt used); a crash leaves their leases to lapse and the reaper
requeues them.

``AGENTHUB_QUEUE_TYPE=quorum`` declares the queue as a RabbitMQ quorum queue
(replicated across a cluster's nodes; see docs/deployment.md). ``Wakeups`` publishes,
``IngestionQueue`` consumes and schedules; both are built and started by the
``RagLibrary`` provider (``dependencies.py``), beside the worker they feed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import eventlet
from eventlet.queue import Empty, LightQueue
from greenlet import GreenletExit
from kombu import Connection, Exchange, Queue
from kombu.pools import producers

from schema.rag import JobStatus
from services.rag.pipeline import PREPARE_AHEAD

log = logging.getLogger("agenthub.rag.ingestion")

EXCHANGE = Exchange("agenthub.rag.ingestion", type="direct", durable=True)
QUEUE_NAME = "agenthub.rag.ingestion"


def ingestion_queue(queue_type: str = "classic") -> Queue:
    """The durable ingestion queue; ``quorum`` makes it a replicated quorum queue."""
    arguments = {"x-queue-type": "quorum"} if queue_type == "quorum" else None
    return Queue(QUEUE_NAME, EXCHANGE, routing_key="job", durable=True, queue_arguments=arguments)


class Wakeups:
    """Publishes "job <id> is waiting" on the ingestion queue: the ``wake`` the submission and
    the worker are built with."""

    def __init__(self, amqp_uri: str, queue: Queue, ssl: dict[str, Any] | None = None) -> None:
        self.queue = queue
        self.connection = Connection(amqp_uri, ssl=ssl, heartbeat=30, transport_options={"confirm_publish": True})

    def __call__(self, job_id: str) -> None:
        """Publish a wake-up for a job already recorded in SQL, persistent and confirmed."""
        with producers[self.connection].acquire(block=True, timeout=10) as producer:
            producer.publish(
                {"job_id": job_id},
                exchange=EXCHANGE,
                routing_key="job",
                declare=[self.queue],
                serializer="json",
                delivery_mode=2,
                retry=True,
                retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
            )

    def close(self) -> None:
        self.connection.release()


class IngestionQueue:
    """Consumes wake-ups and runs QUEUED jobs through ``worker.run_job``; started and stopped by
    the ``RagLibrary`` provider (``dependencies.py``), which built it beside the worker."""

    def __init__(
        self,
        *,
        board,
        worker,
        amqp_uri: str,
        queue: Queue,
        concurrency: int,
        poll_seconds: float,
        ssl: dict[str, Any] | None = None,
    ) -> None:
        """``ssl``: Nameko's ``AMQP_SSL``, as the service's own connections use it."""
        self.board, self.worker = board, worker
        self.amqp_uri, self.queue, self.ssl = amqp_uri, queue, ssl
        self.concurrency, self.poll_seconds = concurrency, poll_seconds
        self._stopping = False
        self._wake: LightQueue = LightQueue()
        self._running: dict[str, object] = {}  # job id → its green thread
        self._held: dict[str, Any] = {}  # job id → its unacknowledged kombu message
        self._spawn: Callable[..., Any] | None = None

    def start(self, spawn: Callable) -> None:
        """``spawn(fn, identifier=...)``: the container's ``spawn_managed_thread``."""
        self._spawn = spawn
        self.worker.start(spawn)
        spawn(self._consume, identifier="rag.ingestion.consumer")
        spawn(self._schedule, identifier="rag.ingestion.scheduler")

    def stop(self) -> None:
        """A clean stop: this process's jobs go back to QUEUED without using an attempt."""
        self._stopping = True
        self._notify()
        for job_id in self.worker.release_all():
            log.info("ingestion job", extra={"fields": {"job_id": job_id, "outcome": "stopped"}})

    def kill(self) -> None:
        self._stopping = True

    def _notify(self) -> None:
        self._wake.put(True)

    # ------------------------------------------------------------ consuming wake-ups

    def _consume(self) -> None:
        while not self._stopping:
            self._held = {}  # job id → its unacknowledged message (this connection's)
            try:
                with Connection(self.amqp_uri, ssl=self.ssl, heartbeat=30) as connection:
                    with connection.Consumer(
                        self.queue, callbacks=[self._on_message], accept=["json"], prefetch_count=self.concurrency
                    ):
                        next_check = time.monotonic() + self.poll_seconds
                        while not self._stopping:
                            try:
                                connection.drain_events(timeout=0.25)
                            except TimeoutError:
                                connection.heartbeat_check()
                            if self._held and time.monotonic() >= next_check:
                                next_check = time.monotonic() + self.poll_seconds
                                self._release_taken()
            except Exception:  # broker gone: retry; the poll keeps jobs moving meanwhile
                if self._stopping:
                    return
                log.warning("ingestion consumer lost its connection; reconnecting", exc_info=True)
                eventlet.sleep(1.0)

    def _release_taken(self) -> None:
        """Acknowledge the held messages whose jobs are no longer QUEUED (taken by any process, or ended)."""
        try:
            waiting = self.board.queued_ids(list(self._held))
        except Exception:  # the database is down: keep holding them
            log.warning("ingestion consumer could not read jobs", exc_info=True)
            return
        for job_id in [j for j in self._held if j not in waiting]:
            self._held.pop(job_id).ack()

    def _on_message(self, body, message) -> None:
        job_id = body.get("job_id") if isinstance(body, dict) else None
        if not isinstance(job_id, str) or len(job_id) > 64:
            log.info("ingestion job", extra={"fields": {"job_id": None, "outcome": "malformed"}})
            message.ack()
            return
        try:
            recorded = self.board.get(job_id)
        except Exception:  # the database is unreachable: keep the message for later
            log.warning("ingestion job %s: its state cannot be read; the message goes back", job_id, exc_info=True)
            eventlet.sleep(1.0)
            message.requeue()
            return
        if recorded is None or recorded[0].status is not JobStatus.QUEUED or job_id in self._held:
            message.ack()  # taken, ended, gone, or a duplicate: nothing left to wake
            if recorded is None:
                log.info("ingestion job", extra={"fields": {"job_id": job_id, "outcome": "missing"}})
            return
        # Durable in SQL and waiting: held unacknowledged until some process takes the job, so the
        # messages beyond this consumer's prefetch stay ready in the queue and its length keeps
        # measuring the backlog (what KEDA scales rag on).
        self._held[job_id] = message
        self._notify()

    # ------------------------------------------------------------ scheduling

    def _schedule(self) -> None:
        while not self._stopping:
            try:
                free = self.concurrency - len(self._running)
                taken = self.board.claimable(free, exclude=set(self._running))
                spawn = self._spawn
                assert spawn is not None  # _schedule runs under start()
                for job_id in taken:
                    if self._stopping:
                        break
                    self._running[job_id] = spawn(
                        lambda job_id=job_id: self._run(job_id), identifier="rag.ingestion.job"
                    )
                # A slot the per-user quota leaves empty prepares the next jobs ahead (nothing
                # written, they stay QUEUED); once every slot is busy, nothing is prepared ahead.
                ahead = (
                    self.board.next_queued(exclude=set(self._running), count=PREPARE_AHEAD)
                    if free > len(taken) and not self._stopping
                    else []
                )
                self.worker.keep_ahead(ahead, keep=set(self._running))
            except Exception:  # the database is down: try again at the next poll
                log.warning("ingestion scheduler could not read jobs", exc_info=True)
            try:
                self._wake.get(timeout=self.poll_seconds)
            except Empty:
                pass
            while not self._wake.empty():
                self._wake.get_nowait()

    def _run(self, job_id: str) -> None:
        started, outcome = time.perf_counter(), "error"
        try:
            outcome = self.worker.run_job(job_id)
        except GreenletExit:
            outcome = "stopped"
            raise
        except Exception:  # the job records its own failure; never kill the container
            log.exception("ingestion job %s raised", job_id)
        finally:
            self._running.pop(job_id, None)
            if outcome not in ("deferred", "busy", "finished", "missing"):  # it ran: log it, fill the slot
                log.info(
                    "ingestion job",
                    extra={
                        "fields": {
                            "job_id": job_id,
                            "outcome": outcome,
                            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        }
                    },
                )
                if not self._stopping:
                    self._notify()
