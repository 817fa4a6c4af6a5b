"""Mutations of the rag domain: each one operation of ``schema/rag.py``. Uploads arrive as GraphQL
multipart requests; each file becomes one ``rag.UPLOAD`` call (base64 bytes, never a path), so a
rejected file fails alone."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any, Protocol, cast

import strawberry
from strawberry.file_uploads import Upload
from strawberry.scalars import JSON
from strawberry.types import Info

from gateway.context import Context
from gateway.graphql.permissions import operation_field
from gateway.graphql.rag.types import (
    Collection,
    Document,
    FileIngestion,
    IngestionJob,
    IngestTextInput,
)
from schema import rag
from schema.errors import BadUserInput

WAIT_SECONDS = 60.0  # ingestText(wait: true) answers by then, ended or not
WAIT_POLL_SECONDS = 0.2


async def wait_for_job(context: Context, job: rag.Job, timeout: float) -> rag.Job:
    """Poll the job until it ends or ``timeout`` passes; the job as last seen."""
    deadline = time.monotonic() + timeout
    while job.status not in rag.ENDED and time.monotonic() < deadline:
        await asyncio.sleep(WAIT_POLL_SECONDS)
        job = await context.invoke(rag.JOB, {"job_id": job.id})
    return job


class UploadedFile(Protocol):
    """A file of a multipart request (Starlette's ``UploadFile``) or of the import directory (REST)."""

    @property
    def filename(self) -> str | None: ...

    async def read(self, size: int = -1) -> bytes: ...


async def _read_limited(upload: UploadedFile, limit: int) -> bytes | None:
    """The file's bytes, or None when it is larger than ``limit`` (read no further)."""
    data = await upload.read(limit + 1)
    return None if len(data) > limit else data


async def ingest_file(context: Context, upload: UploadedFile, collection: str | None, metadata: Any) -> FileIngestion:
    """One uploaded file to one ``rag.UPLOAD`` job (shared with the REST upload routes)."""
    filename = upload.filename or "upload"
    limit = context.settings.rag_max_file_bytes
    data = await _read_limited(upload, limit)
    if data is None:
        rule = f"is larger than {limit} bytes"
        return FileIngestion(
            filename=filename,
            accepted=None,
            rejected=BadUserInput(f"{filename}: {rule}", {"fields": {"file": rule}, "filename": filename}),
        )
    try:
        job = await context.invoke(
            rag.UPLOAD,
            {
                "filename": filename,
                "collection": collection,
                "metadata": metadata,
                "content_base64": base64.b64encode(data).decode(),
            },
        )
    except BadUserInput as exc:
        return FileIngestion(filename=filename, accepted=None, rejected=exc)
    return FileIngestion(filename=filename, accepted=IngestionJob.from_pydantic(job), rejected=None)


@strawberry.type
class RagMutation:
    @operation_field(
        rag.UPLOAD,
        description="Upload .txt, .md, .html, .pdf or .docx files (GraphQL multipart "
        "request); each becomes an ingestion job, or a BAD_USER_INPUT error "
        "at its `job`.",
    )
    async def upload_documents(
        self,
        info: Info[Context, None],
        files: list[Upload],
        collection: str | None = None,
        metadata: JSON | None = None,
    ) -> list[FileIngestion]:
        if not files:
            raise BadUserInput.for_fields({"files": "needs at least one file"})
        most = info.context.settings.rag_max_files
        if len(files) > most:
            raise BadUserInput.for_fields({"files": f"at most {most} files per request"})
        results = []
        for upload in files:  # one at a time: bounded memory, and the order of the request
            # strawberry types the argument as bytes; the multipart parser hands over Starlette's UploadFile
            results.append(await ingest_file(info.context, cast(UploadedFile, upload), collection, metadata))
        return results

    @operation_field(
        rag.INGEST_TEXT,
        description="Ingest a text as a document. With wait: true, return when its "
        "job has ended (DONE, FAILED or CANCELLED), or after "
        f"{WAIT_SECONDS:.0f} s with the job as it is.",
    )
    async def ingest_text(self, info: Info[Context, None], input: IngestTextInput, wait: bool = False) -> IngestionJob:
        job = await info.context.invoke(rag.INGEST_TEXT, strawberry.asdict(input))
        if wait:
            job = await wait_for_job(info.context, job, WAIT_SECONDS)
        return IngestionJob.from_pydantic(job)

    @operation_field(rag.CREATE_COLLECTION)
    async def create_collection(
        self,
        info: Info[Context, None],
        name: str,
        visibility: rag.Visibility = rag.CreateCollectionInput.model_fields["visibility"].default,
    ) -> Collection:
        return Collection.from_pydantic(
            await info.context.invoke(rag.CREATE_COLLECTION, {"name": name, "visibility": visibility})
        )

    @operation_field(rag.ADD_COLLECTION_MEMBER)
    async def add_collection_member(
        self,
        info: Info[Context, None],
        collection: str,
        user_id: strawberry.ID,
        role: rag.MemberRole = rag.AddMemberInput.model_fields["role"].default,
    ) -> Collection:
        return Collection.from_pydantic(
            await info.context.invoke(
                rag.ADD_COLLECTION_MEMBER, {"collection": collection, "user_id": user_id, "role": role}
            )
        )

    @operation_field(rag.ACCEPT_COLLECTION_INVITATION)
    async def accept_collection_invitation(self, info: Info[Context, None], collection: strawberry.ID) -> Collection:
        return Collection.from_pydantic(
            await info.context.invoke(rag.ACCEPT_COLLECTION_INVITATION, {"collection": collection})
        )

    @operation_field(rag.SUBSCRIBE_COLLECTION)
    async def subscribe_collection(self, info: Info[Context, None], collection: str) -> Collection:
        return Collection.from_pydantic(await info.context.invoke(rag.SUBSCRIBE_COLLECTION, {"collection": collection}))

    @operation_field(rag.UNSUBSCRIBE_COLLECTION)
    async def unsubscribe_collection(self, info: Info[Context, None], collection: str) -> bool:
        return await info.context.invoke(rag.UNSUBSCRIBE_COLLECTION, {"collection": collection})

    @operation_field(rag.DELETE_DOCUMENT)
    async def delete_document(self, info: Info[Context, None], id: strawberry.ID) -> Document:
        return Document.from_pydantic(await info.context.invoke(rag.DELETE_DOCUMENT, {"document_id": id}))

    @operation_field(rag.CANCEL_JOB)
    async def cancel_ingestion_job(self, info: Info[Context, None], id: strawberry.ID) -> IngestionJob:
        return IngestionJob.from_pydantic(await info.context.invoke(rag.CANCEL_JOB, {"job_id": id}))
