"""Nameko entrypoints of the rag service: one per operation declared in ``schema/rag.py``.

``@operation`` checks the declared permission against the verified caller, parses the input and
dumps the output (``services/common/entrypoint.py``); a body is the domain call, plus the audit
event where the action is one. Ingestion jobs run from a durable queue recorded in SQL and run
outside the RPC worker pool (``services/rag/queue.py``, wired with the domain by ``RagLibrary``); a
timer requeues jobs whose worker stopped heartbeating.
"""

from __future__ import annotations

import logging
import os

from nameko.timer import timer

from core import __version__
from schema import rag
from schema.errors import Forbidden, NotFound
from schema.models import Identity, Outcome
from services.common.audit import AuditDispatcher
from services.common.dependencies import Redis, RequestLog
from services.common.entrypoint import operation
from services.common.health import redis_check, report
from services.common.identity import CallerProvider
from services.common.rpc import rpc
from services.common.status import status_probe
from services.rag.dependencies import RagLibrary

log = logging.getLogger("agenthub.rag")

# The reaper's period is fixed when the class is defined; a third of the lease.
REAP_INTERVAL = max(0.5, float(os.environ.get("AGENTHUB_RAG_JOB_LEASE_SECONDS", "30")) / 3)


class RagService:
    name = "rag"

    redis = Redis()
    library = RagLibrary()
    caller = CallerProvider()
    audit = AuditDispatcher()
    request_log = RequestLog()

    @rpc
    @status_probe  # agenthub status asks every instance at once (services/common/status.py)
    def health(self) -> dict:
        checks = {
            "redis": redis_check(self.redis),
            "store": self.library.store.check,
            "catalog": self.library.catalog.check,
        }
        return report(self.name, __version__, checks).model_dump(mode="json")

    # ------------------------------------------------------------ ingestion

    @operation(rag.INGEST_TEXT)
    def ingest_text(self, identity: Identity, data: rag.IngestTextInput) -> rag.Job:
        return self.library.submission.ingest_text(identity, data)

    @operation(rag.UPLOAD)
    def upload(self, identity: Identity, data: rag.UploadInput) -> rag.Job:
        return self.library.submission.upload(identity, data)

    @operation(rag.JOB)
    def job(self, identity: Identity, data: rag.JobRef) -> rag.Job:
        return self.library.submission.job(identity, data.job_id)

    @operation(rag.CANCEL_JOB)
    def cancel_job(self, identity: Identity, data: rag.JobRef) -> rag.Job:
        job = self.library.submission.cancel_job(identity, data.job_id)
        self.audit(
            "ingestion_job.cancel", resource=f"job:{job.id}", identity=identity, detail={"status": job.status.value}
        )
        return job

    @timer(interval=REAP_INTERVAL)
    def reap_expired_jobs(self) -> None:
        requeued = self.library.worker.reap()
        if requeued:  # silent when there was nothing to do: it runs every few seconds
            log.info("requeued jobs whose lease lapsed", extra={"fields": {"jobs": requeued}})

    # ------------------------------------------------------------ collections

    @operation(rag.COLLECTIONS)
    def collections(self, identity: Identity) -> list[rag.Collection]:
        return self.library.reads.collections(identity)

    @operation(rag.CREATE_COLLECTION)
    def create_collection(self, identity: Identity, data: rag.CreateCollectionInput) -> rag.Collection:
        collection = self.library.reads.create_collection(identity, data)
        self.audit(
            "collection.create",
            resource=f"collection:{collection.id}",
            identity=identity,
            detail={"visibility": collection.visibility.value},
        )
        return collection

    @operation(rag.ADD_COLLECTION_MEMBER)
    def add_collection_member(self, identity: Identity, data: rag.AddMemberInput) -> rag.Collection:
        result = self.library.reads.add_member(identity, data)
        self.audit(
            "collection.member_add",
            resource=f"collection:{result.id}",
            identity=identity,
            detail={"member": data.user_id, "role": data.role.value},
        )
        return result

    @operation(rag.COLLECTION_INVITATIONS)
    def collection_invitations(self, identity: Identity) -> list[rag.Collection]:
        return self.library.reads.invitations(identity)

    @operation(rag.ACCEPT_COLLECTION_INVITATION)
    def accept_collection_invitation(self, identity: Identity, data: rag.CollectionRef) -> rag.Collection:
        result = self.library.reads.accept_invitation(identity, data.collection)
        self.audit("collection.invitation_accept", resource=f"collection:{result.id}", identity=identity)
        return result

    @operation(rag.SUBSCRIBE_COLLECTION)
    def subscribe_collection(self, identity: Identity, data: rag.CollectionByName) -> rag.Collection:
        result = self.library.reads.subscribe(identity, data.collection)
        self.audit("collection.subscribe", resource=f"collection:{result.id}", identity=identity)
        return result

    @operation(rag.UNSUBSCRIBE_COLLECTION)
    def unsubscribe_collection(self, identity: Identity, data: rag.CollectionByName) -> bool:
        return self.library.reads.unsubscribe(identity, data.collection)

    # ------------------------------------------------------------ documents

    @operation(rag.DOCUMENTS)
    def documents(self, identity: Identity, data: rag.DocumentsInput) -> rag.DocumentPage:
        return self.library.reads.documents(identity, data)

    @operation(rag.DOCUMENT)
    def document(self, identity: Identity, data: rag.DocumentRef) -> rag.Document:
        return self.library.reads.document(identity, data.document_id)

    @operation(rag.DELETE_DOCUMENT)
    def delete_document(self, identity: Identity, data: rag.DocumentRef) -> rag.Document:
        resource = f"document:{data.document_id}"
        try:
            deleted = self.library.reads.delete_document(identity, data.document_id)
        except (Forbidden, NotFound):
            self.audit("document.delete", outcome=Outcome.DENIED, resource=resource, identity=identity)
            raise
        self.audit("document.delete", resource=resource, identity=identity, detail={"title": deleted.title[:200]})
        return deleted

    @operation(rag.DOWNLOAD)
    def download(self, identity: Identity, data: rag.DocumentRef) -> rag.Download:
        return self.library.reads.download(identity, data.document_id)

    # ------------------------------------------------------------ retrieval

    @operation(rag.SEARCH)
    def search(self, identity: Identity, data: rag.SearchInput) -> list[rag.SearchHit]:
        return self.library.reads.search(identity, data)

    @operation(rag.ASK)
    def ask(self, identity: Identity, data: rag.AskInput) -> rag.Answer:
        return self.library.reads.ask(identity, data)
