"""The rag domain behind the entrypoints: collections, documents, ingestion jobs, search, ask.

Every method takes the caller's verified ``Identity``; none trusts an id from
the request for who the caller is. A document or collection the caller may not
read is ``NotFound`` — the same answer as one that does not exist.

Blocking CPU or store work goes through ``offload``; Redis and SQLite calls
stay on the hub (greened network I/O, and local-disk SQLite).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from core import metrics
from core.cursor import decode_cursor, encode_cursor
from core.offload import offload, offloading
from schema.errors import BadUserInput, Conflict, Forbidden, NotFound
from schema.models import Identity
from schema.rag import (AddMemberInput, Answer, AskInput, Collection, CollectionMember, CreateCollectionInput,
                        Document, DocumentPage, DocumentsInput, DocumentStatus, Download, IngestTextInput, Job,
                        JobStatus, SearchHit, SearchInput, UploadInput, UploadLimits, Visibility)
from services.rag import text as mime
from services.rag.access import Scope
from services.rag.answers import Answerer
from services.rag.catalog import (AmbiguousCollection, Catalog, CollectionView, DocumentGone, DocumentRow,
                                  DuplicateCollection)
from services.rag.ingestion import ChunkMeta, ConversionStopped, IngestionError, Indexer
from services.rag.jobs import DuplicateJob, JobBoard, Lease, new_job_id
from services.rag.retrieval import Retriever

log = logging.getLogger("agenthub.rag")
Enqueue = Callable[[str], None]

_LIMITS = UploadLimits()


class LeaseLost(Exception):
    """Another worker took the job over; this one stops without touching anything."""


class JobCancelled(Exception):
    """The job's owner cancelled it while it ran: its partial chunks go, it ends CANCELLED."""


class Files:
    """Staged uploads and kept originals under the data directory, named by ids only."""

    def __init__(self, root: Path) -> None:
        self.staging, self.originals = root / "staging", root / "originals"
        self.staging.mkdir(parents=True, exist_ok=True)
        self.originals.mkdir(parents=True, exist_ok=True)

    def stage(self, job_id: str, data: bytes) -> None:
        temporary = self.staging / f".{job_id}.part"
        temporary.write_bytes(data)
        os.replace(temporary, self.staging / job_id)

    def staged_path(self, job_id: str) -> Path:
        path = self.staging / job_id
        if not path.exists():
            raise IngestionError("the uploaded content is no longer available", "CONTENT_GONE")
        return path

    def unstage(self, job_id: str) -> None:
        (self.staging / job_id).unlink(missing_ok=True)

    def staged_ids(self, older_than: float) -> list[str]:
        """Jobs with a staged file (or a leftover partial write) older than ``older_than`` seconds."""
        cutoff, ids = time.time() - older_than, []
        for path in self.staging.iterdir():
            try:
                if path.stat().st_mtime < cutoff:
                    if path.name.startswith("."):
                        path.unlink(missing_ok=True)  # a write that never finished
                    else:
                        ids.append(path.name)
            except FileNotFoundError:
                continue
        return ids[:1000]

    def keep(self, job_id: str, name: str) -> str:
        target = self.originals / name
        if not target.exists():
            os.link(self.staging / job_id, target)
        return name

    def original(self, name: str) -> bytes:
        return (self.originals / name).read_bytes()

    def forget(self, name: str | None) -> None:
        if name:
            (self.originals / name).unlink(missing_ok=True)


def _cursor(row: DocumentRow) -> str:
    return encode_cursor(row.created_at, row.id)


def _parse_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    created, document_id = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(created), document_id
    except ValueError:
        raise BadUserInput.for_fields({"after": "is not a cursor this API returned"}) from None


class Library:
    def __init__(self, *, catalog: Catalog, store, indexer: Indexer, board: JobBoard, retriever: Retriever,
                 answerer: Answerer, files: Files, redis_client, prefix: str, max_file_bytes: int,
                 embed_batch: int = 16) -> None:
        self.catalog, self.store, self.indexer, self.board = catalog, store, indexer, board
        self.retriever, self.answerer, self.files = retriever, answerer, files
        self.redis, self.prefix = redis_client, prefix
        self.max_file_bytes, self.embed_batch = max_file_bytes, embed_batch
        self.running: dict[str, Lease] = {}  # job id → lease, of the jobs this process works on
        self.written: dict[str, list[str]] = {}  # job id → chunk ids written, not yet current

    # ------------------------------------------------------------ helpers

    def _bump_corpus(self, required: bool = True) -> None:
        """Invalidate cached answers. A job's finish does not need Redis (``required=False``): with
        Redis down the cache is down too, and cached answers expire within their TTL."""
        try:
            self.redis.incr(f"{self.prefix}rag:corpus-version")
        except Exception:
            if required:
                raise
            log.warning("could not bump the corpus version (Redis); cached answers expire by TTL", exc_info=True)

    def _collection(self, identity: Identity, ref: str, field: str = "collection") -> CollectionView:
        try:
            view = self.catalog.collection(ref, identity.user_id, identity.is_admin)
        except AmbiguousCollection:
            raise BadUserInput.for_fields({field: f"several collections are named '{ref}'; use its id"}) from None
        if view is None:
            raise NotFound(f"Collection '{ref}' not found.", {"resource": "collection"})
        return view

    def _writable(self, identity: Identity, ref: str | None) -> CollectionView:
        view = self.catalog.default_collection(identity.user_id) if ref is None else self._collection(identity, ref)
        if not view.writable:
            raise Forbidden(f"You may not add documents to collection '{view.name}'.")
        return view

    def _readable_document(self, identity: Identity, document_id: str) -> DocumentRow:
        row = self.catalog.get(document_id) if isinstance(document_id, str) and len(document_id) <= 64 else None
        if row is None or not Scope.of(identity, self.catalog).can_read(row.owner_id, row.collection_id):
            raise NotFound("Document not found.", {"resource": "document"})
        return row

    def _document(self, row: DocumentRow, names: dict[str, str] | None = None) -> Document:
        names = names if names is not None else self.catalog.collection_names({row.collection_id})
        return Document(id=row.id, title=row.title, collection=row.collection_id,
                        collection_name=names.get(row.collection_id, ""), owner=row.owner_id,
                        mime_type=row.mime_type, size_bytes=row.size_bytes, content_hash=row.content_hash,
                        chunk_count=row.chunk_count, status=DocumentStatus(row.status), error=row.error,
                        created_at=row.created_at, updated_at=row.updated_at, metadata=row.meta or {})

    @staticmethod
    def _collection_payload(view: CollectionView, subscribed: bool = False) -> Collection:
        return Collection(id=view.id, name=view.name, visibility=view.visibility, owner=view.owner_id,
                          role=view.role, created_at=view.created_at, subscribed=subscribed,
                          members=[CollectionMember(user_id=u, role=r) for u, r in view.members])

    # ------------------------------------------------------------ collections

    def collections(self, identity: Identity) -> list[Collection]:
        self.catalog.default_collection(identity.user_id)
        subscribed = self.catalog.subscribed_ids(identity.user_id)
        return [self._collection_payload(v, v.id in subscribed)
                for v in self.catalog.readable_collections(identity.user_id, identity.is_admin)]

    def subscribe(self, identity: Identity, ref: str) -> Collection:
        """Search another user's PUBLIC collection by default from now on (my choice, undone by unsubscribe)."""
        view = self._collection(identity, ref)
        if view.owner_id == identity.user_id or view.visibility is not Visibility.PUBLIC:
            raise BadUserInput.for_fields({"collection": "only another user's PUBLIC collection can be subscribed to"})
        self.catalog.subscribe(identity.user_id, view.id)
        return self._collection_payload(view, True)

    def invitations(self, identity: Identity) -> list[Collection]:
        return [self._collection_payload(view) for view in self.catalog.invitations(identity.user_id)]

    def accept_invitation(self, identity: Identity, collection_id: str) -> Collection:
        if not self.catalog.accept(collection_id, identity.user_id):
            raise NotFound("No invitation to this collection.", {"resource": "invitation"})
        self._bump_corpus()
        return self._collection_payload(self._collection(identity, collection_id))

    def unsubscribe(self, identity: Identity, ref: str) -> bool:
        return self.catalog.unsubscribe(identity.user_id, self._collection(identity, ref).id)

    def create_collection(self, identity: Identity, data: CreateCollectionInput) -> Collection:
        if self.catalog.owned_count(identity.user_id) >= _LIMITS.rag_max_collections:
            raise BadUserInput(f"You have {_LIMITS.rag_max_collections} collections, the most allowed.",
                               {"reason": "too_many_collections", "limit": _LIMITS.rag_max_collections})
        try:
            view = self.catalog.create_collection(identity.user_id, data.name, data.visibility)
        except DuplicateCollection:
            raise Conflict(f"You already have a collection named '{data.name}'.", {"field": "name"}) from None
        self._bump_corpus()
        return self._collection_payload(view)

    def add_member(self, identity: Identity, data: AddMemberInput) -> Collection:
        view = self._collection(identity, data.collection)
        if not view.manageable:
            raise Forbidden("Only the collection's owner or an admin may add members.")
        if data.user_id == view.owner_id:
            raise BadUserInput.for_fields({"userId": "is the collection's owner"})
        if identity.is_admin:
            self.catalog.set_member(view.id, data.user_id, data.role)
        else:  # a membership is offered; it counts once the user accepts it (acceptCollectionInvitation)
            self.catalog.invite(view.id, data.user_id, data.role)
        self._bump_corpus()
        return self._collection_payload(self._collection(identity, view.id))

    # ------------------------------------------------------------ documents

    def documents(self, identity: Identity, data: DocumentsInput) -> DocumentPage:
        after = _parse_cursor(data.after)
        if data.collection is not None:
            rows, total = self.catalog.list_documents([self._collection(identity, data.collection).id], None,
                                                      data.first, after)
        elif identity.is_admin:
            rows, total = self.catalog.list_documents(None, None, data.first, after)
        else:
            scope = Scope.of(identity, self.catalog)
            rows, total = self.catalog.list_documents(sorted(scope.collection_ids), identity.user_id,
                                                      data.first, after)
        page, more = rows[:data.first], len(rows) > data.first
        names = self.catalog.collection_names({r.collection_id for r in page})
        return DocumentPage(items=[self._document(r, names) for r in page], total_count=total,
                            end_cursor=_cursor(page[-1]) if page else None, has_next_page=more)

    def document(self, identity: Identity, document_id: str) -> Document:
        return self._document(self._readable_document(identity, document_id))

    def delete_document(self, identity: Identity, document_id: str) -> Document:
        row = self._readable_document(identity, document_id)
        role = self.catalog.collection(row.collection_id, identity.user_id, identity.is_admin)
        if not (identity.is_admin or row.owner_id == identity.user_id or (role is not None and role.writable)):
            raise Forbidden("Only the document's owner, an editor of its collection or an admin may delete it.")
        payload = self._document(row)
        self.catalog.delete(row.id)  # from here on no search returns its chunks
        offload(self.store.delete_document, row.id)
        self.files.forget(row.original)
        self._bump_corpus()
        return payload

    def download(self, identity: Identity, document_id: str) -> Download:
        row = self._readable_document(identity, document_id)
        if not row.original:
            raise NotFound("This document has no stored original yet.", {"resource": "document"})
        data = self.files.original(row.original)
        return Download(document_id=row.id, filename=row.source, mime_type=row.mime_type, size_bytes=len(data),
                        content_base64=base64.b64encode(data).decode())

    # ------------------------------------------------------------ ingestion: submission

    def ingest_text(self, identity: Identity, data: IngestTextInput, enqueue: Enqueue) -> Job:
        content = data.text.encode("utf-8")
        return self._submit(identity, content, filename=data.title, title=data.title, mime_type=mime.TEXT,
                            collection=data.collection, metadata=data.metadata or {}, enqueue=enqueue,
                            field="text")

    def upload(self, identity: Identity, data: UploadInput, enqueue: Enqueue) -> Job:
        if len(data.content_base64) > (self.max_file_bytes * 4) // 3 + 8:
            raise self._too_large(data.filename)
        try:
            content = base64.b64decode(data.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise BadUserInput.for_fields({"contentBase64": "is not valid base64"}) from None
        try:
            detected = mime.detect(content, data.filename)
        except mime.UnsupportedContent as exc:
            raise BadUserInput(f"{data.filename}: {exc}", {"fields": {"file": str(exc)},
                                                            "filename": data.filename}) from None
        return self._submit(identity, content, filename=data.filename, title=data.filename,
                            mime_type=detected.mime_type, collection=data.collection,
                            metadata=data.metadata or {}, enqueue=enqueue, field="file")

    def _too_large(self, filename: str, field: str = "file") -> BadUserInput:
        rule = f"is larger than {self.max_file_bytes} bytes"
        return BadUserInput(f"{filename}: {rule}", {"fields": {field: rule}, "filename": filename})

    def _submit(self, identity: Identity, content: bytes, *, filename: str, title: str, mime_type: str,
                collection: str | None, metadata: dict[str, Any], enqueue: Enqueue, field: str) -> Job:
        if len(content) > self.max_file_bytes:
            raise self._too_large(filename, field)
        view = self._writable(identity, collection)
        content_hash = hashlib.sha256(content).hexdigest()
        same = self.catalog.find_by_content(identity.user_id, view.id, content_hash)
        spec = {"owner_id": identity.user_id, "collection_id": view.id, "title": title, "source": filename,
                "mime_type": mime_type, "size_bytes": len(content), "content_hash": content_hash,
                "metadata": metadata}
        if same is not None:  # the same content is the same document: nothing to do
            job_id = self.board.create({**spec, "document_id": same.id}, status=JobStatus.DONE,
                                       document_id=same.id, chunk_count=same.chunk_count)
            return self.board.get(job_id)[0]
        identity_key = hashlib.sha256(f"{identity.user_id}|{view.id}|{content_hash}".encode()).hexdigest()
        running = self.board.active(identity_key)
        if running:
            found = self.board.get(running)
            if found is not None and found[0].status in (JobStatus.QUEUED, JobStatus.RUNNING):
                return found[0]
        document_id = self.catalog.prepare(owner_id=identity.user_id, collection_id=view.id, source=filename,
                                           title=title, mime_type=mime_type, size_bytes=len(content),
                                           metadata=metadata)
        job_id = new_job_id()
        self.files.stage(job_id, content)  # before the row: a worker polling SQL may take it at once
        try:
            self.board.create({**spec, "document_id": document_id}, job_id=job_id, active_key=identity_key)
        except DuplicateJob as duplicate:  # the same content submitted concurrently
            self.files.unstage(job_id)
            return self.board.get(duplicate.job_id)[0]
        except Exception:
            self.files.unstage(job_id)
            raise
        try:
            enqueue(job_id)  # a wake-up only: workers also poll SQL, so a lost message loses nothing
        except Exception:
            log.warning("could not publish ingestion job %s; workers will find it by polling", job_id,
                        exc_info=True)
        return self.board.get(job_id)[0]

    def _owned_job(self, identity: Identity, job_id: str) -> tuple[Job, dict[str, Any]]:
        found = self.board.get(job_id) if isinstance(job_id, str) and len(job_id) <= 64 else None
        if found is None or not (identity.is_admin or found[1].get("owner_id") == identity.user_id):
            raise NotFound("Ingestion job not found.", {"resource": "job"})
        return found

    def job(self, identity: Identity, job_id: str) -> Job:
        return self._owned_job(identity, job_id)[0]

    def cancel_job(self, identity: Identity, job_id: str) -> Job:
        """Cancel a QUEUED job at once, or ask a RUNNING one's worker to stop (within seconds);
        a finished job is answered as it is."""
        job, spec = self._owned_job(identity, job_id)
        if self.board.cancel(job_id) == "cancelled":
            self._finished(job_id, spec, "cancelled by request")
        return self.board.get(job_id)[0]

    # ------------------------------------------------------------ ingestion: the worker

    def run_job(self, job_id: str, enqueue: Enqueue) -> str:
        """Process one job if it can be taken now; returns what happened (for logs and tests)."""
        outcome, lease = self.board.acquire(job_id)
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
            log.exception("ingestion job %s failed", job_id)
            reason = f"{type(exc).__name__}: {exc}"[:300]
            if self.board.retry_later(lease, reason):
                try:
                    enqueue(job_id)
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
                heartbeat.kill()

    def release_all(self) -> list[str]:
        """A clean stop: every job this process runs goes back to QUEUED without using an attempt."""
        released = []
        for job_id, lease in list(self.running.items()):
            try:
                if self.board.release(lease):
                    released.append(job_id)
            except Exception:  # the lease lapses instead and the reaper requeues it
                log.warning("could not release ingestion job %s", job_id, exc_info=True)
        return released

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

    def _progress(self, lease: Lease, value: float) -> None:
        if not self.board.progress(lease, value):
            if self.board.cancel_requested(lease.job_id):
                raise JobCancelled(lease.job_id)
            raise LeaseLost(lease.job_id)

    @staticmethod
    def _version(lease: Lease) -> str:
        return f"{lease.spec['content_hash'][:16]}{lease.job_id[:8]}"

    def _index(self, lease: Lease) -> None:
        spec, job_id = lease.spec, lease.job_id
        document_id = spec["document_id"]
        version = self._version(lease)
        meta = ChunkMeta(document_id=document_id, version=version, collection_id=spec["collection_id"],
                         owner_id=spec["owner_id"], title=spec["title"], mime_type=spec["mime_type"],
                         user=spec.get("metadata") or {})
        try:
            chunks = self.indexer.prepare_file(self.files.staged_path(job_id), spec["mime_type"], meta,
                                               should_stop=lambda: self.board.cancel_requested(job_id))
        except ConversionStopped:
            raise JobCancelled(job_id) from None
        self._progress(lease, 0.05)
        embedded = []
        for start in range(0, len(chunks), self.embed_batch):
            embedded += offload(self.indexer.embed, chunks[start:start + self.embed_batch])
            self._progress(lease, 0.05 + 0.85 * len(embedded) / len(chunks))
        self.written[job_id] = [chunk.id for chunk in embedded]
        offload(self.indexer.write, embedded)
        metrics.CHUNKS_EMBEDDED.inc(len(embedded))
        self._progress(lease, 0.95)
        original = self.files.keep(job_id, f"{document_id}-{version}")
        try:
            previous = self.catalog.activate(
                document_id, version=version, content_hash=spec["content_hash"], chunk_count=len(chunks),
                title=spec["title"], mime_type=spec["mime_type"], size_bytes=spec["size_bytes"],
                metadata=spec.get("metadata") or {}, original=original)
        except DocumentGone:  # deleted while indexing: leave nothing behind
            offload(self.store.delete_document, document_id)
            self.files.forget(original)
            raise IngestionError("the document was deleted while it was being indexed") from None
        offload(self.store.remove_stale, document_id, version)  # old chunks: already invisible
        self.files.forget(previous)
        self._bump_corpus(required=False)
        if self.board.done(lease, document_id, len(chunks)):
            self._finished(job_id, spec, None)

    def reap(self, enqueue: Enqueue) -> list[str]:
        """Requeue jobs whose worker stopped heartbeating, end those out of attempts, and remove
        staged files no active job needs (called by a timer)."""
        requeued, ended = self.board.reap()
        for job_id, spec, error in ended:
            self._finished(job_id, spec, error)
        for job_id in requeued:
            try:
                enqueue(job_id)
            except Exception:  # the poll finds it
                log.warning("could not republish ingestion job %s", job_id, exc_info=True)
        staged = self.files.staged_ids(older_than=60.0)
        for job_id in set(staged) - self.board.active_ids(staged):
            self.files.unstage(job_id)
        return requeued

    # ------------------------------------------------------------ retrieval

    def _collection_ids(self, identity: Identity, refs: list[str] | None) -> list[str] | None:
        if refs is None:
            return None
        return [self._collection(identity, ref, "collections").id for ref in refs]

    def search(self, identity: Identity, data: SearchInput) -> list[SearchHit]:
        collection_ids = self._collection_ids(identity, data.collections)
        hits = self.retriever.search(Scope.for_search(identity, self.catalog, collection_ids), data.query,
                                     top_k=data.top_k,
                                     mode=data.mode, collection_ids=collection_ids, filters=data.filters)
        return [SearchHit(chunk_id=h.chunk_id, document_id=h.document_id, title=h.title, content=h.content,
                          score=round(h.score, 6)) for h in hits]

    def ask(self, identity: Identity, data: AskInput) -> Answer:
        collection_ids = self._collection_ids(identity, data.collections)
        return self.answerer.ask(Scope.for_search(identity, self.catalog, collection_ids), data.question,
                                 top_k=data.top_k,
                                 collection_ids=collection_ids)
