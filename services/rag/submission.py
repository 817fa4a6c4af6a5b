"""Submitting documents: ``ingest_text`` and ``upload`` turn bytes into a QUEUED job; ``job``
reads one; ``cancel_job`` stops one.

A submission checks size and type, answers the same content with the same
document (a DONE job, nothing queued), stages the bytes, records the job in SQL
and then publishes a wake-up through ``wake`` (wired at build time in
``dependencies.py``; a lost wake-up loses nothing, workers also poll SQL).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Callable
from typing import Any

from schema.errors import BadUserInput, NotFound
from schema.models import Identity
from schema.rag import IngestTextInput, Job, JobStatus, UploadInput
from services.rag import text as mime
from services.rag.access import writable_collection
from services.rag.catalog import Catalog
from services.rag.files import Files
from services.rag.jobs import DuplicateJob, JobBoard, new_job_id

log = logging.getLogger("agenthub.rag")

Wake = Callable[[str], None]  # publishes "job <id> is waiting"


class Submission:
    def __init__(self, *, catalog: Catalog, board: JobBoard, files: Files, wake: Wake, max_file_bytes: int) -> None:
        self.catalog, self.board, self.files, self.wake = catalog, board, files, wake
        self.max_file_bytes = max_file_bytes

    def ingest_text(self, identity: Identity, data: IngestTextInput) -> Job:
        content = data.text.encode("utf-8")
        return self._submit(
            identity,
            content,
            filename=data.title,
            title=data.title,
            mime_type=mime.TEXT,
            collection=data.collection,
            metadata=data.metadata or {},
            field="text",
        )

    def upload(self, identity: Identity, data: UploadInput) -> Job:
        if len(data.content_base64) > (self.max_file_bytes * 4) // 3 + 8:
            raise self._too_large(data.filename)
        try:
            content = base64.b64decode(data.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise BadUserInput.for_fields({"contentBase64": "is not valid base64"}) from None
        try:
            detected = mime.detect(content, data.filename)
        except mime.UnsupportedContent as exc:
            raise BadUserInput(
                f"{data.filename}: {exc}", {"fields": {"file": str(exc)}, "filename": data.filename}
            ) from None
        return self._submit(
            identity,
            content,
            filename=data.filename,
            title=data.filename,
            mime_type=detected.mime_type,
            collection=data.collection,
            metadata=data.metadata or {},
            field="file",
        )

    def job(self, identity: Identity, job_id: str) -> Job:
        return self._owned_job(identity, job_id)[0]

    def cancel_job(self, identity: Identity, job_id: str) -> Job:
        """Cancel a QUEUED job at once, or ask a RUNNING one's worker to stop (within seconds);
        a finished job is answered as it is."""
        _job, spec = self._owned_job(identity, job_id)
        if self.board.cancel(job_id) == "cancelled":  # it never ran: end it as a worker would
            if spec.get("document_id"):
                self.catalog.mark_failed(spec["document_id"], "cancelled by request")
            self.files.unstage(job_id)
        return self.board.require(job_id)[0]

    # ------------------------------------------------------------ helpers

    def _too_large(self, filename: str, field: str = "file") -> BadUserInput:
        rule = f"is larger than {self.max_file_bytes} bytes"
        return BadUserInput(f"{filename}: {rule}", {"fields": {field: rule}, "filename": filename})

    def _owned_job(self, identity: Identity, job_id: str) -> tuple[Job, dict[str, Any]]:
        found = self.board.get(job_id) if isinstance(job_id, str) and len(job_id) <= 64 else None
        if found is None or not (identity.is_admin or found[1].get("owner_id") == identity.user_id):
            raise NotFound("Ingestion job not found.", {"resource": "job"})
        return found

    def _submit(
        self,
        identity: Identity,
        content: bytes,
        *,
        filename: str,
        title: str,
        mime_type: str,
        collection: str | None,
        metadata: dict[str, Any],
        field: str,
    ) -> Job:
        if len(content) > self.max_file_bytes:
            raise self._too_large(filename, field)
        view = writable_collection(self.catalog, identity, collection)
        content_hash = hashlib.sha256(content).hexdigest()
        same = self.catalog.find_by_content(identity.user_id, view.id, content_hash)
        spec = {
            "owner_id": identity.user_id,
            "collection_id": view.id,
            "title": title,
            "source": filename,
            "mime_type": mime_type,
            "size_bytes": len(content),
            "content_hash": content_hash,
            "metadata": metadata,
        }
        if same is not None:  # the same content is the same document: nothing to do
            job_id = self.board.create(
                {**spec, "document_id": same.id},
                status=JobStatus.DONE,
                document_id=same.id,
                chunk_count=same.chunk_count,
            )
            return self.board.require(job_id)[0]
        identity_key = hashlib.sha256(f"{identity.user_id}|{view.id}|{content_hash}".encode()).hexdigest()
        running = self.board.active(identity_key)
        if running:
            found = self.board.get(running)
            if found is not None and found[0].status in (JobStatus.QUEUED, JobStatus.RUNNING):
                return found[0]
        document_id = self.catalog.prepare(
            owner_id=identity.user_id,
            collection_id=view.id,
            source=filename,
            title=title,
            mime_type=mime_type,
            size_bytes=len(content),
            metadata=metadata,
        )
        job_id = new_job_id()
        self.files.stage(job_id, content)  # before the row: a worker polling SQL may take it at once
        try:
            self.board.create({**spec, "document_id": document_id}, job_id=job_id, active_key=identity_key)
        except DuplicateJob as duplicate:  # the same content submitted concurrently
            self.files.unstage(job_id)
            return self.board.require(duplicate.job_id)[0]
        except Exception:
            self.files.unstage(job_id)
            raise
        try:
            self.wake(job_id)  # a wake-up only: workers also poll SQL, so a lost message loses nothing
        except Exception:
            log.warning("could not publish ingestion job %s; workers will find it by polling", job_id, exc_info=True)
        return self.board.require(job_id)[0]
