"""Request and response bodies of the REST API, as the previous system's clients send and read them.

Requests are validated with these models (400 ``Validation error: …`` names each
field); responses are built with them, and the OpenAPI document is generated
from both, so the description cannot drift from what is served. Unknown
request fields are ignored: old clients send a few we never read.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schema.rag import SearchInput


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


# ---------------------------------------------------------------- auth


class RegisterRequest(_Request):
    username: str = Field(min_length=3, max_length=50)
    password: str = Field(min_length=8, max_length=128)


class LoginRequest(_Request):
    username: str = Field(min_length=1, max_length=50)
    password: str = Field(min_length=1, max_length=128)


class MessageResponse(BaseModel):
    message: str


class UserInfo(BaseModel):
    user_id: str
    role: str
    permissions: list[str]


class LoginResponse(BaseModel):
    token: str = Field(description="Send as 'Authorization: Bearer <token>'.")
    session_id: str | None
    message: str
    user_info: UserInfo


class ValidateResponse(BaseModel):
    valid: bool
    user_id: str
    role: str
    permissions: list[str]


# ---------------------------------------------------------------- agent


class AgentQueryRequest(_Request):
    user_request: str = Field(min_length=1, max_length=2000)
    disable_sql_blocking: bool | None = Field(None, description="Accepted and ignored: blocking is never disabled.")
    disable_databases: bool | None = Field(None, description="Accepted and ignored.")


class DatabaseResult(BaseModel):
    """One database step of the run, as the run record (and GraphQL's ``steps``) has it: no rows (docs/rest.md)."""

    sql: str
    summary: str = Field(description="What the query returned, e.g. '3 row(s)'; the rows are in final_response.")
    error: bool
    duration_ms: float = Field(0.0, description="How long the query took.")


class AgentQueryResponse(BaseModel):
    original_request: str
    final_response: str
    generated_sql: str = Field(description="The SQL of the run's last database step; empty when none.")
    db_results: list[DatabaseResult]
    execution_time: float = Field(description="Seconds.")
    query_type: Literal["sql", "rag", "general"]


# ---------------------------------------------------------------- rag


class RagQueryRequest(_Request):
    query: str = Field(min_length=1, max_length=1000)


class RagQueryResponse(BaseModel):
    response: str
    answer: str
    context: list[str] = Field(description="The passages the answer cites, in citation order.")
    sources: list[str] = Field(description="Titles of the cited documents.")


class RetrieveRequest(_Request):
    query: str = Field(min_length=1, max_length=1000)
    top_k: int = Field(
        SearchInput.model_fields["top_k"].default,
        ge=1,
        le=100,
        description="At most 50 passages are returned (the search's own cap).",
    )


class LookupRequest(_Request):
    query: str = Field(min_length=1, max_length=1000)


class RetrievedDocument(BaseModel):
    content: str
    metadata: dict[str, Any]
    score: float
    source: str
    title: str


class DocumentsResponse(BaseModel):
    documents: list[RetrievedDocument]


class IngestRequest(_Request):
    file_paths: list[str] = Field(
        min_length=1, max_length=50, description="Paths inside the server's import directory (AGENTHUB_IMPORT_DIR)."
    )


class UploadResponse(BaseModel):
    message: str
    file_count: int


class UploadStarted(BaseModel):
    message: str
    file_count: int
    session_id: str
    progress_tracking_available: bool = True


class FileResult(BaseModel):
    status: Literal["queued", "processing", "success", "error"]  # cancelled is an "error": old clients know four
    message: str
    job_id: str | None = Field(
        None, description="The file's ingestion job (GET /api/rag/jobs/{job_id}); none when the file was refused."
    )


class UploadProgress(BaseModel):
    progress: int = Field(ge=0, le=100)
    status: Literal["processing", "completed", "completed_with_errors", "failed"]
    current_file: str | None
    total_files: int
    completed_files: int
    results: dict[str, FileResult]


class ClearRequest(_Request):
    pass


class MultipartFiles(BaseModel):
    """``multipart/form-data`` with the field ``files`` repeated once per file."""

    files: list[bytes] = Field(
        min_length=1, max_length=10, json_schema_extra={"items": {"type": "string", "format": "binary"}}
    )


# ---------------------------------------------------------------- health


class HealthResponse(BaseModel):
    status: Literal["healthy", "unhealthy"]
    service: Literal["gateway"] = "gateway"
    timestamp: str
    version: str
    services: dict[str, dict[str, Any]]


# ---------------------------------------------------------------- errors


class ErrorMessage(BaseModel):
    message: str


class ErrorBody(BaseModel):
    error: str
