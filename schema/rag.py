"""The rag service's contract: its RPC payloads and operations, shared by the service and the gateway.

The operations are declared at the end of this module (``schema/contract.py``): the service's
entrypoints, the gateway's calls and the GraphQL fields' access and descriptions all come from
them. Identity always comes from the verified RPC context, never from arguments.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from schema.contract import Operation
from schema.errors import NotFound
from schema.permissions import Permission
from schema.validation import plain_text

MAX_TOP_K = 50
DEFAULT_TOP_K = 5
META_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
Scalar = str | int | float | bool


# ---------------------------------------------------------------- enums


class Visibility(str, Enum):
    PRIVATE = "PRIVATE"
    PUBLIC = "PUBLIC"


class MemberRole(str, Enum):
    VIEWER = "VIEWER"
    EDITOR = "EDITOR"


class AccessRole(str, Enum):
    """What the caller may do in a collection."""

    OWNER = "OWNER"
    EDITOR = "EDITOR"
    VIEWER = "VIEWER"
    READER = "READER"  # a PUBLIC collection's reader
    ADMIN = "ADMIN"


class DocumentStatus(str, Enum):
    PROCESSING = "PROCESSING"
    READY = "READY"
    FAILED = "FAILED"


class JobStatus(str, Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


ENDED = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED})  # a job in one never changes again


def job_version_key(prefix: str, job_id: str) -> str:
    """A counter rag bumps on each change of the job (status, progress, error): the gateway's
    ``ingestionProgress`` reads the job again only when it moved (``gateway/graphql/rag/watch.py``)."""
    return f"{prefix}rag:job:{job_id}:version"


def job_changes_channel(prefix: str) -> str:
    """The Redis channel where rag announces each bump as ``"<job id> <version>"``, followed by
    ``" <the Job as JSON>"`` when the change ended the job: a gateway process subscribed to it
    wakes its watchers at once instead of at its next read of the counters."""
    return f"{prefix}rag:job-changes"


class SearchMode(str, Enum):
    HYBRID = "HYBRID"
    KEYWORD = "KEYWORD"
    SEMANTIC = "SEMANTIC"


class AnswerMode(str, Enum):
    GENERATIVE = "GENERATIVE"
    EXTRACTIVE = "EXTRACTIVE"


# ---------------------------------------------------------------- inputs


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _check_metadata(value: dict[str, Any] | None) -> dict[str, Any]:
    value = value or {}
    if len(value) > 32:
        raise ValueError("at most 32 keys")
    for key, item in value.items():
        if not META_KEY.match(key):
            raise ValueError(f"key '{key[:40]}' must be a letter or _ followed by letters, digits or _ (max 64)")
        if not isinstance(item, (str, int, float, bool)) and item is not None:
            raise ValueError(f"value of '{key}' must be a string, number or boolean")
        if isinstance(item, str) and len(item) > 1000:
            raise ValueError(f"value of '{key}' is longer than 1000 characters")
    return value


class IngestTextInput(_Input):
    title: str = Field(min_length=1, max_length=300)
    text: str = Field(min_length=1)
    collection: str | None = Field(None, max_length=200)
    metadata: dict[str, Any] | None = None

    _plain = field_validator("title")(classmethod(lambda cls, v: plain_text(v)))

    _metadata = field_validator("metadata")(classmethod(lambda cls, v: _check_metadata(v)))


class UploadInput(_Input):
    """One file. ``content_base64`` carries the bytes: the service never opens a client-supplied path."""

    filename: str = Field(min_length=1, max_length=255)
    content_base64: str = Field(min_length=1)
    collection: str | None = Field(None, max_length=200)
    metadata: dict[str, Any] | None = None

    _metadata = field_validator("metadata")(classmethod(lambda cls, v: _check_metadata(v)))

    @field_validator("filename")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        name = value.replace("\\", "/").rsplit("/", 1)[-1].strip()
        if not name or name in {".", ".."}:
            raise ValueError("must be a file name")
        plain_text(name)
        return name


class CreateCollectionInput(_Input):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[^/]+$")
    visibility: Visibility = Visibility.PRIVATE

    _plain = field_validator("name")(classmethod(lambda cls, v: plain_text(v)))


class AddMemberInput(_Input):
    collection: str = Field(min_length=1, max_length=200)
    user_id: str = Field(min_length=1, max_length=200)
    role: MemberRole = MemberRole.VIEWER


class DocumentsInput(_Input):
    collection: str | None = Field(None, max_length=200)
    first: int = Field(20, ge=1, le=100)
    after: str | None = Field(None, max_length=200)


class SearchInput(_Input):
    query: str = Field(min_length=1, max_length=2000)
    collections: list[str] | None = Field(None, max_length=50)
    top_k: int = Field(DEFAULT_TOP_K, ge=1, le=MAX_TOP_K)
    filters: dict[str, Scalar | list[Scalar]] | None = None
    mode: SearchMode = SearchMode.HYBRID

    @field_validator("filters")
    @classmethod
    def _filter_keys(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        for key in value or {}:
            if not META_KEY.match(key):
                raise ValueError(f"key '{key[:40]}' is not a metadata key")
        return value


class AskInput(_Input):
    question: str = Field(min_length=1, max_length=2000)
    collections: list[str] | None = Field(None, max_length=50)
    top_k: int = Field(DEFAULT_TOP_K, ge=1, le=20)


def _known_id(resource: str) -> BeforeValidator:
    """An id that cannot exist (not a string, empty, too long) is NOT_FOUND like one that does not
    exist, never a field error: the answer says nothing about what ids look like."""

    def check(value: Any) -> str:
        if not isinstance(value, str) or not value or len(value) > 64:
            raise NotFound(f"{resource} not found.", {"resource": resource.lower()})
        return value

    return BeforeValidator(check)


class JobRef(_Input):
    job_id: Annotated[str, _known_id("Job")]


class DocumentRef(_Input):
    document_id: Annotated[str, _known_id("Document")]


class CollectionRef(_Input):
    """A collection by id (an invitation names the collection by its id)."""

    collection: str = Field(min_length=1, max_length=64)


class CollectionByName(_Input):
    """A collection by id, or by name among those the caller may read."""

    collection: str = Field(min_length=1, max_length=200)


# ---------------------------------------------------------------- outputs


class CollectionMember(BaseModel):
    user_id: str
    role: MemberRole


class Collection(BaseModel):
    id: str
    name: str
    visibility: Visibility
    owner: str
    role: AccessRole
    created_at: datetime
    # Another user's PUBLIC collection the caller searches by default.
    subscribed: bool = Field(False, description="Searched by default because I subscribed to it.")
    members: list[CollectionMember] = Field(default_factory=list, description="Shown to the owner and admins only.")


class Document(BaseModel):
    id: str
    title: str
    collection: str
    collection_name: str
    owner: str
    mime_type: str
    size_bytes: int
    content_hash: str
    chunk_count: int
    status: DocumentStatus
    error: str | None = None
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)


class DocumentPage(BaseModel):
    items: list[Document]
    end_cursor: str | None = None
    has_next_page: bool = False
    total_count: int = Field(description="How many documents I may read here.")


class Job(BaseModel):
    id: str
    status: JobStatus
    progress: float = Field(ge=0, le=1)
    document_id: str | None = None
    chunk_count: int | None = None
    error: str | None = None
    error_code: str | None = Field(
        None,
        description="Why it FAILED, as a code: ZIP_TOO_LARGE, ZIP_RATIO_TOO_HIGH, "
        "TOO_MANY_ZIP_MEMBERS, TEXT_TOO_LONG, TOO_MANY_CHUNKS, "
        "MEMORY_LIMIT, CPU_LIMIT, TIME_LIMIT, UNREADABLE_FILE, NO_TEXT, "
        "CANCELLED, ...",
    )
    attempts: int = 0
    filename: str | None = None


class SearchHit(BaseModel):
    chunk_id: str
    document_id: str
    title: str
    content: str
    score: float


class Citation(BaseModel):
    document_id: str
    title: str
    chunk_id: str
    snippet: str
    score: float


class Answer(BaseModel):
    answer: str
    mode: AnswerMode
    found: bool = Field(True, description="False when nothing relevant was found; then there are no citations.")
    citations: list[Citation]


class Download(BaseModel):
    document_id: str
    filename: str
    mime_type: str
    size_bytes: int
    content_base64: str


# ---------------------------------------------------------------- operations
# The wire is unchanged: each input model's fields are the RPC's arguments, in field order.

INGEST_TEXT: Operation[IngestTextInput, Job] = Operation(
    "rag",
    "ingest_text",
    IngestTextInput,
    Job,
    Permission.WRITE_RAG,
    "Ingest a text as a document: an ingestion job.",
    timeout=120.0,
    cost=5,
)
UPLOAD: Operation[UploadInput, Job] = Operation(
    "rag",
    "upload",
    UploadInput,
    Job,
    Permission.WRITE_RAG,
    "One file's bytes as base64 (the gateway sends each file of a multipart upload): an ingestion job.",
    timeout=120.0,
    cost=10,
)
JOB: Operation[JobRef, Job] = Operation("rag", "job", JobRef, Job, Permission.READ_RAG, "One of my ingestion jobs.")
CANCEL_JOB: Operation[JobRef, Job] = Operation(
    "rag",
    "cancel_job",
    JobRef,
    Job,
    Permission.WRITE_RAG,
    "Cancel an ingestion job (its owner or an admin): a QUEUED job ends CANCELLED at once, a RUNNING one "
    "within seconds, its partial chunks removed. A finished job is returned as it is.",
)

COLLECTIONS: Operation[None, list[Collection]] = Operation(
    "rag", "collections", None, list[Collection], Permission.READ_RAG, "Collections I may read."
)
CREATE_COLLECTION: Operation[CreateCollectionInput, Collection] = Operation(
    "rag", "create_collection", CreateCollectionInput, Collection, Permission.WRITE_RAG, "A new collection of mine."
)
ADD_COLLECTION_MEMBER: Operation[AddMemberInput, Collection] = Operation(
    "rag",
    "add_collection_member",
    AddMemberInput,
    Collection,
    Permission.WRITE_RAG,
    "Invite a user to a collection I own (or change their role): they become a member when they accept it "
    "(acceptCollectionInvitation); an admin adds at once.",
)
COLLECTION_INVITATIONS: Operation[None, list[Collection]] = Operation(
    "rag",
    "collection_invitations",
    None,
    list[Collection],
    Permission.READ_RAG,
    "Collections I am invited to, with the role offered (not yet readable).",
)
ACCEPT_COLLECTION_INVITATION: Operation[CollectionRef, Collection] = Operation(
    "rag",
    "accept_collection_invitation",
    CollectionRef,
    Collection,
    Permission.READ_RAG,
    "Become a member of a collection whose owner invited me (addCollectionMember).",
)
SUBSCRIBE_COLLECTION: Operation[CollectionByName, Collection] = Operation(
    "rag",
    "subscribe_collection",
    CollectionByName,
    Collection,
    Permission.READ_RAG,
    "Search another user's PUBLIC collection by default from now on (otherwise it is searched only when named).",
)
UNSUBSCRIBE_COLLECTION: Operation[CollectionByName, bool] = Operation(
    "rag",
    "unsubscribe_collection",
    CollectionByName,
    bool,
    Permission.READ_RAG,
    "Stop searching a subscribed collection by default; false if I was not subscribed.",
)

DOCUMENTS: Operation[DocumentsInput, DocumentPage] = Operation(
    "rag",
    "documents",
    DocumentsInput,
    DocumentPage,
    Permission.READ_RAG,
    "Documents I may read, newest first; in one collection if given.",
)
DOCUMENT: Operation[DocumentRef, Document] = Operation(
    "rag", "document", DocumentRef, Document, Permission.READ_RAG, "A document I may read."
)
DELETE_DOCUMENT: Operation[DocumentRef, Document] = Operation(
    "rag",
    "delete_document",
    DocumentRef,
    Document,
    Permission.WRITE_RAG,
    "Delete a document (its owner, an editor of its collection, or an admin).",
)
DOWNLOAD: Operation[DocumentRef, Download] = Operation(
    "rag",
    "download",
    DocumentRef,
    Download,
    Permission.READ_RAG,
    "The original file of a document I may read.",
    timeout=60.0,
    cost=5,
)

SEARCH: Operation[SearchInput, list[SearchHit]] = Operation(
    "rag",
    "search",
    SearchInput,
    list[SearchHit],
    Permission.READ_RAG,
    "Passages of documents I may read. topK: 1 to 50; filters: {metadataKey: value or [values]}.",
    timeout=30.0,
    cost=3,
)
# No fixed timeout: the gateway allows its RPC timeout plus the LLM's time (gateway/graphql/rag/queries.py).
ASK: Operation[AskInput, Answer] = Operation(
    "rag",
    "ask",
    AskInput,
    Answer,
    Permission.READ_RAG,
    "An answer from documents I may read, with citations; never an invented source.",
    cost=10,
)
