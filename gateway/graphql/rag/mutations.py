"""Mutations of the rag domain. Uploads arrive as GraphQL multipart requests; each
file becomes one ``rag.upload`` RPC (base64 bytes, never a path), so a rejected
file fails alone."""

from __future__ import annotations

import asyncio
import base64
import time

import strawberry
from strawberry.file_uploads import Upload
from strawberry.scalars import JSON
from strawberry.types import Info

from gateway.context import Context
from gateway.graphql.permissions import requires
from gateway.graphql.rag.types import (Collection, Document, FileIngestion, IngestionJob, IngestTextInput,
                                       MemberRole, Visibility)
from schema import rag
from schema.errors import BadUserInput
from schema.permissions import Permission

UPLOAD_TIMEOUT = 120.0
WAIT_SECONDS = 60.0       # ingestText(wait: true) answers by then, ended or not
WAIT_POLL_SECONDS = 0.2


async def wait_for_job(context: Context, job: rag.Job, timeout: float) -> rag.Job:
    """Poll the job until it ends or ``timeout`` passes; the job as last seen."""
    deadline = time.monotonic() + timeout
    while job.status not in rag.ENDED and time.monotonic() < deadline:
        await asyncio.sleep(WAIT_POLL_SECONDS)
        job = rag.Job.model_validate(await context.call("rag", "job", job.id))
    return job


async def _read_limited(upload, limit: int) -> bytes | None:
    """The file's bytes, or None when it is larger than ``limit`` (read no further)."""
    data = await upload.read(limit + 1)
    return None if len(data) > limit else data


async def ingest_file(context: Context, upload, collection: str | None, metadata) -> FileIngestion:
    """One uploaded file to one ``rag.upload`` job (shared with the REST upload routes)."""
    filename = getattr(upload, "filename", None) or "upload"
    limit = context.settings.rag_max_file_bytes
    data = await _read_limited(upload, limit)
    if data is None:
        rule = f"is larger than {limit} bytes"
        return FileIngestion(filename=filename, accepted=None,
                             rejected=BadUserInput(f"{filename}: {rule}", {"fields": {"file": rule},
                                                                           "filename": filename}))
    try:
        job = await context.call("rag", "upload", filename=filename, content_base64=base64.b64encode(data).decode(),
                                 collection=collection, metadata=metadata, timeout=UPLOAD_TIMEOUT)
    except BadUserInput as exc:
        return FileIngestion(filename=filename, accepted=None, rejected=exc)
    return FileIngestion(filename=filename, accepted=IngestionJob.from_pydantic(rag.Job.model_validate(job)),
                         rejected=None)


def _collection(payload: dict) -> Collection:
    return Collection.from_pydantic(rag.Collection.model_validate(payload))


@strawberry.type
class RagMutation:
    @strawberry.mutation(extensions=[requires(Permission.WRITE_RAG)],
                         description="Upload .txt, .md, .html, .pdf or .docx files (GraphQL multipart request); "
                                     "each becomes an ingestion job, or a BAD_USER_INPUT error at its `job`.")
    async def upload_documents(self, info: Info[Context, None], files: list[Upload],
                               collection: str | None = None, metadata: JSON | None = None) -> list[FileIngestion]:
        if not files:
            raise BadUserInput.for_fields({"files": "needs at least one file"})
        most = info.context.settings.rag_max_files
        if len(files) > most:
            raise BadUserInput.for_fields({"files": f"at most {most} files per request"})
        results = []
        for upload in files:  # one at a time: bounded memory, and the order of the request
            results.append(await ingest_file(info.context, upload, collection, metadata))
        return results

    @strawberry.mutation(extensions=[requires(Permission.WRITE_RAG)],
                         description="Ingest a text as a document. With wait: true, return when its job has "
                                     f"ended (DONE, FAILED or CANCELLED), or after {WAIT_SECONDS:.0f} s with the job as it is.")
    async def ingest_text(self, info: Info[Context, None], input: IngestTextInput,
                          wait: bool = False) -> IngestionJob:
        job = rag.Job.model_validate(await info.context.call(
            "rag", "ingest_text", title=input.title, text=input.text, collection=input.collection,
            metadata=input.metadata, timeout=UPLOAD_TIMEOUT))
        if wait:
            job = await wait_for_job(info.context, job, WAIT_SECONDS)
        return IngestionJob.from_pydantic(job)

    @strawberry.mutation(extensions=[requires(Permission.WRITE_RAG)], description="A new collection of mine.")
    async def create_collection(self, info: Info[Context, None], name: str,
                                visibility: Visibility = rag.CreateCollectionInput.model_fields["visibility"].default
                                ) -> Collection:
        return _collection(await info.context.call("rag", "create_collection", name=name,
                                                   visibility=visibility.value))

    @strawberry.mutation(extensions=[requires(Permission.WRITE_RAG)],
                         description="Invite a user to a collection I own (or change their role): they become a "
                                     "member when they accept it (acceptCollectionInvitation); an admin adds at once.")
    async def add_collection_member(self, info: Info[Context, None], collection: str, user_id: strawberry.ID,
                                    role: MemberRole = rag.AddMemberInput.model_fields["role"].default
                                    ) -> Collection:
        return _collection(await info.context.call(
            "rag", "add_collection_member", collection=collection, user_id=str(user_id), role=role.value))

    @strawberry.mutation(extensions=[requires(Permission.READ_RAG)],
                         description="Become a member of a collection whose owner invited me (addCollectionMember).")
    async def accept_collection_invitation(self, info: Info[Context, None], collection: strawberry.ID) -> Collection:
        return _collection(await info.context.call("rag", "accept_collection_invitation",
                                                   collection=str(collection)))

    @strawberry.mutation(extensions=[requires(Permission.READ_RAG)],
                         description="Search another user's PUBLIC collection by default from now on "
                                     "(otherwise it is searched only when named).")
    async def subscribe_collection(self, info: Info[Context, None], collection: str) -> Collection:
        return _collection(await info.context.call("rag", "subscribe_collection", collection=collection))

    @strawberry.mutation(extensions=[requires(Permission.READ_RAG)],
                         description="Stop searching a subscribed collection by default; false if I was not subscribed.")
    async def unsubscribe_collection(self, info: Info[Context, None], collection: str) -> bool:
        return await info.context.call("rag", "unsubscribe_collection", collection=collection)

    @strawberry.mutation(extensions=[requires(Permission.WRITE_RAG)],
                         description="Delete a document (its owner, an editor of its collection, or an admin).")
    async def delete_document(self, info: Info[Context, None], id: strawberry.ID) -> Document:
        return Document.from_pydantic(rag.Document.model_validate(
            await info.context.call("rag", "delete_document", str(id))))

    @strawberry.mutation(extensions=[requires(Permission.WRITE_RAG)],
                         description="Cancel an ingestion job (its owner or an admin): a QUEUED job ends CANCELLED "
                                     "at once, a RUNNING one within seconds, its partial chunks removed. A finished "
                                     "job is returned as it is.")
    async def cancel_ingestion_job(self, info: Info[Context, None], id: strawberry.ID) -> IngestionJob:
        return IngestionJob.from_pydantic(rag.Job.model_validate(
            await info.context.call("rag", "cancel_job", str(id))))
