"""The durable ingestion queue, consumed ack-late by this process's own green threads.

Why not a Nameko ``@event_handler``: its workers come from the container's one
pool (``max_workers``), shared with RPCs. Twenty long uploads would take every
slot and ``health`` or ``search`` would wait for them. Here a kombu consumer
with ``prefetch_count = concurrency`` runs jobs in managed threads outside that
pool; a message is acknowledged only after its job returns, so a process that
dies leaves its jobs unacknowledged and the broker redelivers them
(at-least-once; the job lease makes duplicates harmless).

Acknowledgements go through the consuming green thread (an AMQP channel is not
shared between writers). Usage, in a service beside the ``RagLibrary`` provider::

    ingestion = IngestionQueue(RagLibrary)   # injects ``enqueue(job_id)``; runs library.run_job
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable

import eventlet
from eventlet.queue import LightQueue
from kombu import Connection, Exchange, Queue
from kombu.pools import producers
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.extensions import DependencyProvider

log = logging.getLogger("agenthub.rag.ingestion")

EXCHANGE = Exchange("agenthub.rag.ingestion", type="direct", durable=True)
QUEUE = Queue("agenthub.rag.ingestion", EXCHANGE, routing_key="job", durable=True)


class IngestionQueue(DependencyProvider):
    """Publishes and consumes ingestion jobs; the library provider's ``run_job(job_id, enqueue)`` works them."""

    def __init__(self, library_provider: type) -> None:
        self.library_provider = library_provider
        self.handler: Callable[[str, Callable[[str], None]], str] | None = None

    def setup(self) -> None:
        from services.rag.settings import get_rag_settings

        self.concurrency = get_rag_settings().rag_ingest_concurrency
        self.amqp_uri = self.container.config[AMQP_URI_CONFIG_KEY]
        self.connection = Connection(self.amqp_uri, heartbeat=30, transport_options={"confirm_publish": True})
        self._stopping = False
        self._acks: LightQueue = LightQueue()

    def start(self) -> None:
        provider = next(d for d in self.container.dependencies if isinstance(d, self.library_provider))
        self.handler = provider.library.run_job
        self.container.spawn_managed_thread(self._consume, identifier="rag.ingestion.consumer")

    def stop(self) -> None:
        self._stopping = True

    def kill(self) -> None:
        self._stopping = True

    def enqueue(self, job_id: str) -> None:
        """Publish a job, persistent and confirmed by the broker."""
        with producers[self.connection].acquire(block=True, timeout=10) as producer:
            producer.publish({"job_id": job_id}, exchange=EXCHANGE, routing_key="job", declare=[QUEUE],
                             serializer="json", delivery_mode=2, retry=True,
                             retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5})

    def get_dependency(self, worker_ctx) -> Callable[[str], None]:
        return self.enqueue

    # ------------------------------------------------------------ consuming

    def _consume(self) -> None:
        while not self._stopping:
            try:
                with Connection(self.amqp_uri, heartbeat=30) as connection:
                    with connection.Consumer(QUEUE, callbacks=[self._on_message], accept=["json"],
                                             prefetch_count=self.concurrency):
                        while not self._stopping:
                            try:
                                connection.drain_events(timeout=0.25)
                            except socket.timeout:
                                connection.heartbeat_check()
                            while not self._acks.empty():
                                self._ack(self._acks.get_nowait())
            except Exception:  # broker gone: retry; unacknowledged jobs are redelivered meanwhile
                if self._stopping:
                    return
                log.warning("ingestion consumer lost its connection; reconnecting", exc_info=True)
                eventlet.sleep(1.0)

    @staticmethod
    def _ack(message) -> None:
        try:
            message.ack()
        except Exception:  # its connection died: the broker redelivers it, the lease dedupes
            log.warning("could not acknowledge an ingestion job", exc_info=True)

    def _on_message(self, body, message) -> None:
        self.container.spawn_managed_thread(lambda: self._run(body, message), identifier="rag.ingestion.job")

    def _run(self, body, message) -> None:
        job_id = body.get("job_id") if isinstance(body, dict) else None
        started, outcome = time.perf_counter(), "malformed"
        try:
            if job_id and self.handler is not None:
                outcome = self.handler(job_id, self.enqueue)
        except Exception:  # the job records its own failure; never kill the container
            outcome = "error"
            log.exception("ingestion job %s raised", job_id)
        finally:
            self._acks.put(message)
            log.info("ingestion job", extra={"fields": {
                "job_id": job_id, "outcome": outcome,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2)}})
