"""Nameko entrypoints of the rag service: validate, call the domain, serialise.

Identity comes only from ``self.caller`` (the verified token in the RPC
context), never from arguments. Ingestion jobs run from a durable queue
recorded in SQL and run outside the RPC worker pool (``services/rag/queue.py``, wired
with the domain by ``RagLibrary``); a timer requeues jobs whose worker stopped heartbeating.
"""

from __future__ import annotations

import logging
import os

from nameko.timer import timer

from core import __version__
from schema.errors import BadUserInput, Forbidden, NotFound
from schema.models import Outcome
from schema.permissions import Permission
from schema.rag import (
    AddMemberInput,
    AskInput,
    CreateCollectionInput,
    DocumentsInput,
    IngestTextInput,
    SearchInput,
    UploadInput,
    parse_input,
)
from services.common.audit import AuditDispatcher
from services.common.dependencies import Redis, RequestLog
from services.common.health import redis_check, report
from services.common.identity import CallerProvider
from services.common.rpc import rpc
from services.rag.dependencies import RagLibrary

log = logging.getLogger("agenthub.rag")

# The reaper's period is fixed when the class is defined; a third of the lease.
REAP_INTERVAL = max(0.5, float(os.environ.get("AGENTHUB_RAG_JOB_LEASE_SECONDS", "30")) / 3)


def _dump(value):
    if isinstance(value, list):
        return [item.model_dump(mode="json") for item in value]
    return value.model_dump(mode="json")


def _id(value, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise NotFound(f"{field} not found.", {"resource": field.lower()})
    return value


class RagService:
    name = "rag"

    redis = Redis()
    library = RagLibrary()
    caller = CallerProvider()
    audit = AuditDispatcher()
    request_log = RequestLog()

    @rpc
    def health(self) -> dict:
        checks = {"redis": redis_check(self.redis), "store": self.library.store.check,
                  "catalog": self.library.catalog.check}
        return report(self.name, __version__, checks).model_dump(mode="json")

    # ------------------------------------------------------------ ingestion

    @rpc
    def ingest_text(self, title=None, text=None, collection=None, metadata=None) -> dict:
        identity = self.caller.require(Permission.WRITE_RAG)
        data = parse_input(IngestTextInput, {"title": title, "text": text, "collection": collection,
                                             "metadata": metadata})
        return _dump(self.library.submission.ingest_text(identity, data))

    @rpc
    def upload(self, filename=None, content_base64=None, collection=None, metadata=None) -> dict:
        """One file's bytes as base64; the gateway calls it once per file of a multipart upload."""
        identity = self.caller.require(Permission.WRITE_RAG)
        data = parse_input(UploadInput, {"filename": filename, "content_base64": content_base64,
                                         "collection": collection, "metadata": metadata})
        return _dump(self.library.submission.upload(identity, data))

    @rpc
    def job(self, job_id=None) -> dict:
        identity = self.caller.require(Permission.READ_RAG)
        return _dump(self.library.submission.job(identity, _id(job_id, "Job")))

    @rpc
    def cancel_job(self, job_id=None) -> dict:
        """Owner or admin: a QUEUED job ends CANCELLED now, a RUNNING one within seconds."""
        identity = self.caller.require(Permission.WRITE_RAG)
        job = self.library.submission.cancel_job(identity, _id(job_id, "Job"))
        self.audit("ingestion_job.cancel", resource=f"job:{job.id}", identity=identity,
                   detail={"status": job.status.value})
        return _dump(job)

    @timer(interval=REAP_INTERVAL)
    def reap_expired_jobs(self) -> None:
        requeued = self.library.worker.reap()
        if requeued:  # silent when there was nothing to do: it runs every few seconds
            log.info("requeued jobs whose lease lapsed", extra={"fields": {"jobs": requeued}})

    # ------------------------------------------------------------ collections

    @rpc
    def collections(self) -> list[dict]:
        identity = self.caller.require(Permission.READ_RAG)
        return _dump(self.library.reads.collections(identity))

    @rpc
    def create_collection(self, name=None, visibility="PRIVATE") -> dict:
        identity = self.caller.require(Permission.WRITE_RAG)
        data = parse_input(CreateCollectionInput, {"name": name, "visibility": visibility})
        collection = self.library.reads.create_collection(identity, data)
        self.audit("collection.create", resource=f"collection:{collection.id}", identity=identity,
                   detail={"visibility": collection.visibility.value})
        return _dump(collection)

    @rpc
    def add_collection_member(self, collection=None, user_id=None, role="VIEWER") -> dict:
        identity = self.caller.require(Permission.WRITE_RAG)
        data = parse_input(AddMemberInput, {"collection": collection, "user_id": user_id, "role": role})
        result = self.library.reads.add_member(identity, data)
        self.audit("collection.member_add", resource=f"collection:{result.id}", identity=identity,
                   detail={"member": data.user_id, "role": data.role.value})
        return _dump(result)

    @rpc
    def collection_invitations(self) -> list[dict]:
        identity = self.caller.require(Permission.READ_RAG)
        return _dump(self.library.reads.invitations(identity))

    @rpc
    def accept_collection_invitation(self, collection=None) -> dict:
        identity = self.caller.require(Permission.READ_RAG)
        if not isinstance(collection, str) or not 0 < len(collection) <= 64:
            raise BadUserInput.for_fields({"collection": "must be a collection id"})
        result = self.library.reads.accept_invitation(identity, collection)
        self.audit("collection.invitation_accept", resource=f"collection:{result.id}", identity=identity)
        return _dump(result)

    @rpc
    def subscribe_collection(self, collection=None) -> dict:
        identity = self.caller.require(Permission.READ_RAG)
        if not isinstance(collection, str) or not 0 < len(collection) <= 200:
            raise BadUserInput.for_fields({"collection": "must be a collection id or name"})
        result = self.library.reads.subscribe(identity, collection)
        self.audit("collection.subscribe", resource=f"collection:{result.id}", identity=identity)
        return _dump(result)

    @rpc
    def unsubscribe_collection(self, collection=None) -> bool:
        identity = self.caller.require(Permission.READ_RAG)
        if not isinstance(collection, str) or not 0 < len(collection) <= 200:
            raise BadUserInput.for_fields({"collection": "must be a collection id or name"})
        return self.library.reads.unsubscribe(identity, collection)

    # ------------------------------------------------------------ documents

    @rpc
    def documents(self, collection=None, first=20, after=None) -> dict:
        identity = self.caller.require(Permission.READ_RAG)
        data = parse_input(DocumentsInput, {"collection": collection, "first": first, "after": after})
        return _dump(self.library.reads.documents(identity, data))

    @rpc
    def document(self, document_id=None) -> dict:
        identity = self.caller.require(Permission.READ_RAG)
        return _dump(self.library.reads.document(identity, _id(document_id, "Document")))

    @rpc
    def delete_document(self, document_id=None) -> dict:
        identity = self.caller.require(Permission.WRITE_RAG)
        resource = f"document:{str(document_id)[:64]}"
        try:
            deleted = self.library.reads.delete_document(identity, _id(document_id, "Document"))
        except (Forbidden, NotFound):
            self.audit("document.delete", outcome=Outcome.DENIED, resource=resource, identity=identity)
            raise
        self.audit("document.delete", resource=resource, identity=identity, detail={"title": deleted.title[:200]})
        return _dump(deleted)

    @rpc
    def download(self, document_id=None) -> dict:
        identity = self.caller.require(Permission.READ_RAG)
        return _dump(self.library.reads.download(identity, _id(document_id, "Document")))

    # ------------------------------------------------------------ retrieval

    @rpc
    def search(self, query=None, collections=None, top_k=5, filters=None, mode="HYBRID") -> list[dict]:
        identity = self.caller.require(Permission.READ_RAG)
        data = parse_input(SearchInput, {"query": query, "collections": collections, "top_k": top_k,
                                         "filters": filters, "mode": mode})
        return _dump(self.library.reads.search(identity, data))

    @rpc
    def ask(self, question=None, collections=None, top_k=5) -> dict:
        identity = self.caller.require(Permission.READ_RAG)
        data = parse_input(AskInput, {"question": question, "collections": collections, "top_k": top_k})
        return _dump(self.library.reads.ask(identity, data))
