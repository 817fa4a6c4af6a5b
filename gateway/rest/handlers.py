"""What each REST route does: the same RPC calls as the GraphQL resolvers, answered in the old shapes.

Nothing here decides anything a service decides: identity, ownership, limits,
validation of content and every search or answer come from the services, as
for GraphQL. Where a resolver holds more than one call, the handler uses the
resolver's own helper (``run_to_end``, ``ingest_file``).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from core import __version__
from gateway.graphql.agent.mutations import run_to_end
from gateway.graphql.rag.mutations import UploadedFile, ingest_file
from gateway.graphql.rag.queries import ask_timeout
from gateway.graphql.rag.subscriptions import POLL_SECONDS
from gateway.health import check_services
from gateway.rest import models
from gateway.rest.api import MAX_FILES, RestCall, RestError, validation_error
from gateway.rest.progress import ProgressStore, TrackedFile, UploadSession, unique_names
from schema import auth, rag
from schema.agent import RunRecord, RunStatus
from schema.errors import NotFound
from schema.models import Status
from schema.rag import ENDED, MAX_TOP_K, Job, JobStatus, SearchMode

UPLOAD_SUFFIXES = (".txt", ".pdf", ".docx", ".html", ".md")
WAIT_FOR_JOBS_SECONDS = 600.0  # /upload and /ingest answer when their jobs end, or give up after this
CLEAR_MAX_DOCUMENTS = 10_000


# ---------------------------------------------------------------- auth


async def register(call: RestCall) -> models.MessageResponse:
    body: models.RegisterRequest = call.body
    await call.context.invoke(auth.REGISTER, {"username": body.username, "password": body.password})
    return models.MessageResponse(message="User registered successfully!")


async def login(call: RestCall) -> models.LoginResponse:
    body: models.LoginRequest = call.body
    pair = await call.context.invoke(auth.LOGIN, {"username": body.username, "password": body.password})
    signed_in = await call.context.edge.authenticate(pair.access_token)
    assert signed_in is not None  # a token auth has just issued
    identity = signed_in.identity
    return models.LoginResponse(
        token=pair.access_token,
        session_id=identity.session_id,
        message="Login successful!",
        user_info=models.UserInfo(
            user_id=identity.user_id, role=identity.role, permissions=sorted(identity.permissions)
        ),
    )


async def validate(call: RestCall) -> models.ValidateResponse:
    identity = call.context.require_principal()
    return models.ValidateResponse(
        valid=True, user_id=identity.user_id, role=identity.role, permissions=sorted(identity.permissions)
    )


# ---------------------------------------------------------------- agent


def _query_type(record: RunRecord) -> Literal["sql", "rag", "general"]:
    tools = {step.tool for step in record.steps}
    if "query_database" in tools:
        return "sql"
    return "rag" if "search_documents" in tools else "general"


async def agent_query(call: RestCall) -> models.AgentQueryResponse:
    body: models.AgentQueryRequest = call.body
    started = time.perf_counter()
    record = await run_to_end(call.context, {"message": body.user_request})
    if record.status is not RunStatus.FINISHED:
        raise RestError(500, {"error": f"Agent run {record.status.value.lower()}: {record.error or 'no answer'}"})
    database_steps = [step for step in record.steps if step.tool == "query_database"]
    return models.AgentQueryResponse(
        original_request=body.user_request,
        final_response=record.answer,
        generated_sql=str(database_steps[-1].arguments.get("sql", "")) if database_steps else "",
        db_results=[
            models.DatabaseResult(
                sql=str(step.arguments.get("sql", "")),
                summary=step.result_summary,
                error=step.error,
                duration_ms=step.duration_ms,
            )
            for step in database_steps
        ],
        execution_time=round(time.perf_counter() - started, 3),
        query_type=_query_type(record),
    )


# ---------------------------------------------------------------- rag: reading


async def rag_query(call: RestCall) -> models.RagQueryResponse:
    body: models.RagQueryRequest = call.body
    context = call.context
    answer = await context.invoke(rag.ASK, {"question": body.query}, timeout=ask_timeout(context.settings))
    titles = list(dict.fromkeys(c.title for c in answer.citations))
    return models.RagQueryResponse(
        response=answer.answer, answer=answer.answer, context=[c.snippet for c in answer.citations], sources=titles
    )


async def _search(call: RestCall, search: dict[str, object]) -> models.DocumentsResponse:
    """``rag.SEARCH`` with the model's defaults for what the old route does not send."""
    documents = []
    for hit in await call.context.invoke(rag.SEARCH, search):
        documents.append(
            models.RetrievedDocument(
                content=hit.content,
                score=hit.score,
                source=hit.title,
                title=hit.title,
                metadata={"document_id": hit.document_id, "chunk_id": hit.chunk_id},
            )
        )
    return models.DocumentsResponse(documents=documents)


async def retrieve(call: RestCall) -> models.DocumentsResponse:
    body: models.RetrieveRequest = call.body
    return await _search(call, {"query": body.query, "top_k": min(body.top_k, MAX_TOP_K)})


async def lookup(call: RestCall) -> models.DocumentsResponse:
    """The old keyword lookup: the same search in KEYWORD mode."""
    body: models.LookupRequest = call.body
    return await _search(call, {"query": body.query, "mode": SearchMode.KEYWORD})


# ---------------------------------------------------------------- rag: writing


async def _submit(call: RestCall, files: Sequence[UploadedFile]) -> list[TrackedFile]:
    """Each file to one ``rag.UPLOAD`` job, one at a time, exactly as ``uploadDocuments`` does."""
    names = unique_names([f.filename or "upload" for f in files])
    tracked = []
    for name, file in zip(names, files, strict=True):
        result = await ingest_file(call.context, file, None, None)
        if result.rejected is not None:
            tracked.append(TrackedFile(name=name, job_id=None, error=result.rejected.message))
        elif result.accepted is not None:
            tracked.append(TrackedFile(name=name, job_id=str(result.accepted.id)))
    return tracked


async def _job(call: RestCall, file: TrackedFile) -> Job | None:
    if file.job_id is None:
        return None
    try:
        return await call.context.invoke(rag.JOB, {"job_id": file.job_id})
    except NotFound:
        return Job(id=file.job_id, status=JobStatus.FAILED, progress=1, error="The job is no longer known.")


async def _jobs(call: RestCall, files: list[TrackedFile]) -> list[Job | None]:
    return list(await asyncio.gather(*(_job(call, f) for f in files)))


async def _wait(call: RestCall, files: list[TrackedFile]) -> list[Job | None]:
    deadline = time.monotonic() + WAIT_FOR_JOBS_SECONDS
    while True:
        jobs = await _jobs(call, files)
        if all(job is None or job.status in ENDED for job in jobs):
            return jobs
        if time.monotonic() > deadline:
            raise RestError(504, {"error": "Ingestion is still running; poll upload_with_progress instead."})
        await asyncio.sleep(POLL_SECONDS)


def _failures(files: list[TrackedFile], jobs: list[Job | None]) -> list[str]:
    failures = []
    for file, job in zip(files, jobs):
        if file.error is not None:
            failures.append(f"{file.name}: {file.error}")
        elif job is not None and job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
            failures.append(f"{file.name}: {job.error or 'ingestion failed'}")
    return failures


def _check_files(call: RestCall, files: Sequence[UploadedFile]) -> None:
    """The old API's rules, before any file is sent: how many, and which kinds."""
    if len(files) > MAX_FILES:
        raise validation_error(call.route, {"files": f"at most {MAX_FILES} files per request"})
    for file in files:
        name = (getattr(file, "filename", None) or "").lower()
        if not name.endswith(UPLOAD_SUFFIXES):
            raise validation_error(
                call.route, {"files": f"'{(file.filename or '')[:100]}' is not one of {' '.join(UPLOAD_SUFFIXES)}"}
            )


async def _ingest_and_wait(call: RestCall, files: Sequence[UploadedFile]) -> int:
    tracked = await _submit(call, files)
    failures = _failures(tracked, await _wait(call, tracked))
    if failures:
        raise RestError(422, {"error": "Ingestion failed: " + "; ".join(failures)})
    return len(tracked)


async def upload(call: RestCall) -> models.UploadResponse:
    _check_files(call, call.files)
    count = await _ingest_and_wait(call, call.files)
    return models.UploadResponse(message=f"{count} document(s) uploaded and ingested successfully", file_count=count)


def _store(call: RestCall) -> ProgressStore:
    state = call.request.app.state
    return ProgressStore(state.redis, state.settings.redis_prefix)


async def upload_with_progress(call: RestCall) -> models.UploadStarted:
    _check_files(call, call.files)
    tracked = await _submit(call, call.files)
    owner = call.context.require_principal().user_id
    session_id = await _store(call).create(UploadSession(owner=owner, files=tracked))
    return models.UploadStarted(
        message=f"{len(tracked)} file(s) accepted; ingestion started", file_count=len(tracked), session_id=session_id
    )


def _file_result(file: TrackedFile, job: Job | None) -> tuple[float, models.FileResult]:
    if file.error is not None:
        return 1.0, models.FileResult(status="error", message=file.error)
    assert job is not None
    result = _job_result(job)
    result.job_id = file.job_id
    return (0.0 if job.status is JobStatus.QUEUED else 1.0 if job.status in ENDED else job.progress), result


def _job_result(job: Job) -> models.FileResult:
    if job.status is JobStatus.DONE:
        return models.FileResult(status="success", message=f"Ingested ({job.chunk_count or 0} chunk(s))")
    if job.status is JobStatus.CANCELLED:
        return models.FileResult(status="error", message=job.error or "Cancelled")
    if job.status is JobStatus.FAILED:
        return models.FileResult(status="error", message=job.error or "Ingestion failed")
    if job.status is JobStatus.QUEUED:
        return models.FileResult(status="queued", message="Waiting to be processed")
    return models.FileResult(status="processing", message=f"{round(job.progress * 100)}% processed")


async def _session(call: RestCall) -> UploadSession:
    """One of the caller's upload sessions; someone else's is exactly as unknown as a made-up id."""
    owner = call.context.require_principal().user_id
    session = await _store(call).get(call.path_params["session_id"], owner)
    if session is None:
        raise RestError(404, {"error": "Session not found"})
    return session


async def upload_progress(call: RestCall) -> models.UploadProgress:
    session = await _session(call)
    return _progress(session, await _jobs(call, session.files))


async def cancel_upload(call: RestCall) -> models.UploadProgress:
    """``rag.CANCEL_JOB`` for each file of one of my upload sessions; answers its progress after."""
    session = await _session(call)

    async def cancel(file: TrackedFile) -> Job | None:
        if file.job_id is None:
            return None
        try:
            return await call.context.invoke(rag.CANCEL_JOB, {"job_id": file.job_id})
        except NotFound:  # a job the rag service no longer knows: as upload_progress reports it
            return await _job(call, file)

    return _progress(session, list(await asyncio.gather(*(cancel(f) for f in session.files))))


def _progress(session: UploadSession, jobs: list[Job | None]) -> models.UploadProgress:
    results, done, total_progress, current = {}, 0, 0.0, None
    for file, job in zip(session.files, jobs):
        progress, result = _file_result(file, job)
        results[file.name] = result
        total_progress += progress
        if result.status in ("success", "error"):
            done += 1
        elif current is None:
            current = file.name
    total = len(session.files)
    errors = sum(1 for r in results.values() if r.status == "error")
    status: Literal["processing", "completed", "completed_with_errors", "failed"]
    if done < total:
        status, percent = "processing", min(99, int(total_progress * 100 / total))
    else:
        status = "completed" if not errors else ("failed" if errors == total else "completed_with_errors")
        percent = 100
    return models.UploadProgress(
        progress=percent, status=status, current_file=current, total_files=total, completed_files=done, results=results
    )


async def ingestion_job(call: RestCall) -> Job:
    return await call.context.invoke(rag.JOB, {"job_id": call.path_params["job_id"]})


async def cancel_ingestion_job(call: RestCall) -> Job:
    return await call.context.invoke(rag.CANCEL_JOB, {"job_id": call.path_params["job_id"]})


class ImportedFile:
    """A file of the import directory, read like an upload (``filename``, ``read(n)``)."""

    def __init__(self, path: Path) -> None:
        self.path, self.filename = path, path.name

    async def read(self, size: int = -1) -> bytes:
        def read() -> bytes:
            # O_NOFOLLOW: a final component swapped for a symlink after the check is refused.
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as handle:
                return handle.read(size)

        return await asyncio.to_thread(read)


def resolve_import(root: Path, raw: str) -> Path:
    """``raw`` as a regular file inside ``root``, symlinks resolved; ValueError says why not."""
    if not raw or "\x00" in raw or len(raw) > 4096:
        raise ValueError("is not a path")
    path = Path(raw)
    if ".." in path.parts:
        raise ValueError("must not contain '..'")
    base = root.resolve(strict=True)
    try:
        resolved = (path if path.is_absolute() else base / path).resolve(strict=True)
    except (OSError, RuntimeError):
        raise ValueError("does not exist in the import directory") from None
    if not resolved.is_relative_to(base):
        raise ValueError("is outside the import directory")
    if not resolved.is_file():
        raise ValueError("is not a file")
    return resolved


async def ingest(call: RestCall) -> models.MessageResponse:
    body: models.IngestRequest = call.body
    root = call.context.settings.import_dir
    if root is None:
        raise RestError(
            400,
            {
                "error": "Validation error: server-side ingestion is disabled: the administrator "
                "has not set AGENTHUB_IMPORT_DIR; upload the files instead"
            },
        )
    if not root.is_dir():
        raise RestError(
            400, {"error": "Validation error: the import directory (AGENTHUB_IMPORT_DIR) does not exist on the server"}
        )
    paths, problems = [], {}
    for index, raw in enumerate(body.file_paths):
        try:
            paths.append(resolve_import(root, raw))
        except ValueError as exc:
            problems[f"file_paths.{index}"] = str(exc)
    if problems:  # nothing is ingested unless every path is acceptable
        raise validation_error(call.route, problems)
    files = [ImportedFile(p) for p in paths]
    for file in files:
        if not file.filename.lower().endswith(UPLOAD_SUFFIXES):
            raise validation_error(
                call.route, {"file_paths": f"'{file.filename[:100]}' is not one of {' '.join(UPLOAD_SUFFIXES)}"}
            )
    await _ingest_and_wait(call, files)
    return models.MessageResponse(message="Documents ingested successfully")


async def clear(call: RestCall) -> models.MessageResponse:
    """Delete every document the caller owns (never another's, even one they may read), one RPC each."""
    context = call.context
    owner = context.require_principal().user_id
    mine: list[str] = []
    after = None
    while len(mine) < CLEAR_MAX_DOCUMENTS:
        page = await context.invoke(rag.DOCUMENTS, {"first": 100, "after": after})
        mine.extend(d.id for d in page.items if d.owner == owner)
        if not page.has_next_page:
            break
        after = page.end_cursor
    for document_id in mine:
        try:
            await context.invoke(rag.DELETE_DOCUMENT, {"document_id": document_id}, timeout=rag.UPLOAD.timeout)
        except NotFound:  # deleted meanwhile
            pass
    return models.MessageResponse(message="All documents cleared successfully")


# ---------------------------------------------------------------- health


async def health(call: RestCall) -> models.HealthResponse:
    context = call.context
    services: dict[str, dict[str, Any]]
    if not context.rpc.connected:
        services = {
            name: {"status": "unhealthy", "detail": "the message broker is not reachable"}
            for name in ("auth", "agent", "rag")
        }
        healthy = False
    else:
        statuses = await check_services(context.rpc, context.settings.ready_timeout, context.rpc_context())
        healthy = all(s.status is Status.UP for s in statuses)
        services = {
            s.name: {
                "status": "healthy" if s.status is Status.UP else "unhealthy",
                "version": s.version,
                "latency_ms": s.latency_ms,
                "detail": s.detail,
            }
            for s in statuses
        }
    return models.HealthResponse(
        status="healthy" if healthy else "unhealthy",
        timestamp=datetime.now(UTC).isoformat(),
        version=__version__,
        services=services,
    )
