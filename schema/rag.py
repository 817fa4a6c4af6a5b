"""RPC payload models of the rag service, imported by the service and the gateway.

Inputs are validated with ``parse_input`` so a bad request becomes
``BAD_USER_INPUT`` naming each field (in the GraphQL camelCase spelling);
replies are ``model_dump(mode="json")`` of the output models.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from schema.errors import BadUserInput
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
        return plain_text(name)


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
    def _filter_keys(cls, value):
        for key in value or {}:
            if not META_KEY.match(key):
                raise ValueError(f"key '{key[:40]}' is not a metadata key")
        return value


class AskInput(_Input):
    question: str = Field(min_length=1, max_length=2000)
    collections: list[str] | None = Field(None, max_length=50)
    top_k: int = Field(DEFAULT_TOP_K, ge=1, le=20)


InputT = TypeVar("InputT", bound=BaseModel)


def parse_input(model: type[InputT], data: dict[str, Any] | None) -> InputT:
    """Validate an RPC argument; failures are BAD_USER_INPUT naming each camelCase field."""
    if not isinstance(data, dict):
        raise BadUserInput.for_fields({"input": "must be an object"})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for error in exc.errors():
            name = ".".join(to_camel(str(part)) if isinstance(part, str) else str(part) for part in error["loc"])
            fields[name or "input"] = error["msg"]
        raise BadUserInput.for_fields(fields) from None


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
    error_code: str | None = Field(None, description="Why it FAILED, as a code: ZIP_TOO_LARGE, ZIP_RATIO_TOO_HIGH, "
                                                     "TOO_MANY_ZIP_MEMBERS, TEXT_TOO_LONG, TOO_MANY_CHUNKS, "
                                                     "MEMORY_LIMIT, CPU_LIMIT, TIME_LIMIT, UNREADABLE_FILE, NO_TEXT, "
                                                     "CANCELLED, ...")
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
