"""GraphQL types of the rag domain, built from the RPC models in schema/rag.py."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from gateway.graphql.pagination import PageInfo
from schema import rag
from schema.errors import AgentHubError

Visibility = strawberry.enum(rag.Visibility, name="CollectionVisibility",
                             description="PRIVATE: its owner and members; PUBLIC: every signed-in user reads it.")
MemberRole = strawberry.enum(rag.MemberRole, name="CollectionMemberRole",
                             description="VIEWER reads; EDITOR also adds and deletes documents.")
AccessRole = strawberry.enum(rag.AccessRole, name="CollectionAccess", description="What I may do in a collection.")
DocumentStatus = strawberry.enum(rag.DocumentStatus, name="DocumentStatus")
JobStatus = strawberry.enum(rag.JobStatus, name="IngestionStatus")
SearchMode = strawberry.enum(rag.SearchMode, name="SearchMode",
                             description="HYBRID fuses BM25 and dense retrieval by reciprocal rank fusion.")
AnswerMode = strawberry.enum(rag.AnswerMode, name="AnswerMode",
                             description="GENERATIVE: written by the configured LLM; EXTRACTIVE: quoted passages.")


@strawberry.type
class CollectionMember:
    user_id: strawberry.ID
    role: MemberRole


@strawberry.type(description="A set of documents with one owner and one visibility.")
class Collection:
    id: strawberry.ID
    name: str
    visibility: Visibility
    owner: strawberry.ID
    role: AccessRole
    created_at: datetime
    subscribed: bool = strawberry.field(description="Searched by default because I subscribed to it.")
    members: list[CollectionMember] = strawberry.field(description="Shown to the owner and admins only.")

    @classmethod
    def from_payload(cls, data: dict) -> "Collection":
        model = rag.Collection.model_validate(data)
        return cls(id=model.id, name=model.name, visibility=model.visibility, owner=model.owner, role=model.role,
                   created_at=model.created_at, subscribed=model.subscribed,
                   members=[CollectionMember(user_id=m.user_id, role=m.role) for m in model.members])


@strawberry.type(description="A document I may read.")
class Document:
    id: strawberry.ID
    title: str
    collection: strawberry.ID
    collection_name: str
    owner: strawberry.ID
    mime_type: str
    size_bytes: int
    content_hash: str
    chunk_count: int
    status: DocumentStatus
    error: str | None
    created_at: datetime
    updated_at: datetime
    metadata: JSON

    @classmethod
    def from_payload(cls, data: dict) -> "Document":
        m = rag.Document.model_validate(data)
        return cls(id=m.id, title=m.title, collection=m.collection, collection_name=m.collection_name,
                   owner=m.owner, mime_type=m.mime_type, size_bytes=m.size_bytes, content_hash=m.content_hash,
                   chunk_count=m.chunk_count, status=m.status, error=m.error, created_at=m.created_at,
                   updated_at=m.updated_at, metadata=m.metadata)


@strawberry.type
class DocumentConnection:
    nodes: list[Document]
    page_info: PageInfo
    total_count: int = strawberry.field(description="How many documents I may read here.")

    @classmethod
    def from_payload(cls, data: dict) -> "DocumentConnection":
        page = rag.DocumentPage.model_validate(data)
        return cls(nodes=[Document.from_payload(d.model_dump()) for d in page.items],
                   page_info=PageInfo(end_cursor=page.end_cursor, has_next_page=page.has_next_page),
                   total_count=page.total_count)


@strawberry.type(description="An ingestion job: QUEUED, RUNNING, then DONE, FAILED or CANCELLED; progress from 0 "
                             "to 1.")
class IngestionJob:
    id: strawberry.ID
    status: JobStatus
    progress: float
    document_id: strawberry.ID | None
    chunk_count: int | None
    error: str | None
    error_code: str | None = strawberry.field(description="Why it FAILED, as a code: ZIP_TOO_LARGE, "
                                                          "ZIP_RATIO_TOO_HIGH, TOO_MANY_ZIP_MEMBERS, TEXT_TOO_LONG, "
                                                          "TOO_MANY_CHUNKS, MEMORY_LIMIT, CPU_LIMIT, TIME_LIMIT, "
                                                          "UNREADABLE_FILE, NO_TEXT, CANCELLED, ...")
    attempts: int
    filename: str | None

    @classmethod
    def from_payload(cls, data: dict) -> "IngestionJob":
        m = rag.Job.model_validate(data)
        return cls(id=m.id, status=m.status, progress=m.progress, document_id=m.document_id,
                   chunk_count=m.chunk_count, error=m.error, error_code=m.error_code, attempts=m.attempts,
                   filename=m.filename)


@strawberry.type(description="One uploaded file: its job, or a BAD_USER_INPUT error at this file's `job`.")
class FileIngestion:
    filename: str
    accepted: strawberry.Private[IngestionJob | None]
    rejected: strawberry.Private[AgentHubError | None]

    @strawberry.field
    def job(self) -> IngestionJob | None:
        if self.rejected is not None:
            raise self.rejected
        return self.accepted


@strawberry.input
class IngestTextInput:
    title: str
    text: str
    collection: str | None = strawberry.UNSET
    metadata: JSON | None = strawberry.UNSET


@strawberry.type
class SearchHit:
    chunk_id: str
    document_id: strawberry.ID
    title: str
    content: str
    score: float

    @classmethod
    def from_payload(cls, data: dict) -> "SearchHit":
        m = rag.SearchHit.model_validate(data)
        return cls(chunk_id=m.chunk_id, document_id=m.document_id, title=m.title, content=m.content, score=m.score)


@strawberry.type(description="A retrieved passage; [n] in the answer is the n-th citation.")
class Citation:
    document_id: strawberry.ID
    title: str
    chunk_id: str
    snippet: str
    score: float


@strawberry.type
class Answer:
    answer: str
    mode: AnswerMode
    found: bool = strawberry.field(description="False when nothing relevant was found; then there are no citations.")
    citations: list[Citation]

    @classmethod
    def from_payload(cls, data: dict) -> "Answer":
        m = rag.Answer.model_validate(data)
        return cls(answer=m.answer, mode=m.mode, found=m.found,
                   citations=[Citation(document_id=c.document_id, title=c.title, chunk_id=c.chunk_id,
                                       snippet=c.snippet, score=c.score) for c in m.citations])
