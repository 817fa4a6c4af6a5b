"""Ingestion jobs in SQL (the catalog's database): status, progress, attempts, a lease, a cancel flag.

The database is the truth, so a lost Redis or a lost queue message never
strands a job: every state change is one guarded ``UPDATE`` (it matches only
when the job is in the state the change starts from), so two workers or two
reapers never both win, and progress or results from a worker that lost its
lease are ignored.

* ``acquire``: QUEUED (or RUNNING with a lapsed lease) → RUNNING, ``attempts + 1``,
  only while the owner runs fewer than ``user_quota`` jobs (on PostgreSQL under a
  per-owner transaction lock, so concurrent acquisitions cannot both pass).
* ``heartbeat``/``progress``: only by the lease's holder.
* ``done``/``failed``/``cancelled``: end states; ``retry_later`` back to QUEUED
  until ``max_attempts``; ``release`` (a clean stop) back to QUEUED *without*
  using an attempt.
* ``reap``: lapsed leases back to QUEUED or FAILED; finished jobs forgotten
  after ``FINISHED_TTL``.
* ``claimable``: the oldest QUEUED jobs whose owners are under their quota —
  what workers poll, so a job whose queue message was lost still runs.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String, Text, and_, delete, func, or_, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from core.offload import offloading
from schema.rag import ENDED, Job, JobStatus, job_changes_channel, job_version_key

FINISHED_TTL = 7 * 24 * 3600
ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
ENDED_VALUES = frozenset(status.value for status in ENDED)


class _Base(DeclarativeBase):
    pass


class JobRow(_Base):
    __tablename__ = "rag_jobs"
    __table_args__ = (
        Index("ix_rag_jobs_status_created", "status", "created_at"),
        Index("ix_rag_jobs_owner_status", "owner_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    document_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    chunk_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(32), nullable=True)
    lease_until: Mapped[float] = mapped_column(Float, default=0.0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # The same content for the same owner and collection while the job is active; NULL after:
    # the unique index makes "one job per content at a time" atomic.
    active_key: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True)
class Lease:
    job_id: str
    token: str
    spec: dict[str, Any]


class DuplicateJob(Exception):
    """The same content is already being ingested: ``job_id`` is that job."""

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.job_id = job_id


def new_job_id() -> str:
    return uuid.uuid4().hex


log = logging.getLogger("agenthub.rag")

LEASE_ONLY = {"lease_until", "updated_at"}  # a heartbeat: nothing a reader of the job sees


class JobBoard:
    def __init__(
        self,
        engine: Engine,
        lease_seconds: float = 30.0,
        max_attempts: int = 3,
        user_quota: int = 1,
        clock=time.time,
        changed: Callable[[str, Job | None], None] | None = None,
    ) -> None:
        """``changed(job_id, ended)``: told after each change a reader would see (not a lease's
        extension), with the job as it now is when the change ended it (DONE, FAILED, CANCELLED:
        it never changes again, so whoever gets it may show it as final); a failure there is
        logged and the change stands (readers poll as well)."""
        self.engine = engine
        self.changed = changed
        self.lease_seconds, self.max_attempts, self.user_quota, self.clock = (
            lease_seconds,
            max_attempts,
            user_quota,
            clock,
        )
        _Base.metadata.create_all(engine)
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    def _update(
        self, job_id: str, *conditions, lock_owner: str | None = None, announce: bool = True, **values: Any
    ) -> bool:
        """One guarded UPDATE; True when it matched (the transition happened); ``announce=False``
        tells nobody (``changed``) of it.

        ``lock_owner``: on PostgreSQL, first take a transaction lock on that owner, so two processes
        acquiring that owner's jobs at once take turns and the quota count is exact (SQLite
        serialises writers anyway).
        """
        values.setdefault("updated_at", self.clock())
        with self.engine.begin() as connection:
            if lock_owner is not None and connection.dialect.name == "postgresql":
                key = int.from_bytes(
                    hashlib.sha256(f"rag-owner:{lock_owner}".encode()).digest()[:8], "big", signed=True
                )
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            result = connection.execute(update(JobRow).where(JobRow.id == job_id, *conditions).values(**values))
            matched = result.rowcount == 1
        if matched and announce and self.changed is not None and values.keys() - LEASE_ONLY:
            try:
                found = self.get(job_id) if values.get("status") in ENDED_VALUES else None
                self.changed(job_id, found[0] if found is not None else None)  # an ended job never changes
            except Exception:
                log.warning("could not announce a change of ingestion job %s", job_id, exc_info=True)
        return matched

    def _held(self, lease: Lease):
        return (JobRow.lease_owner == lease.token, JobRow.status == JobStatus.RUNNING.value)

    # ------------------------------------------------------------ submission side

    def create(
        self,
        spec: dict[str, Any],
        *,
        job_id: str | None = None,
        status: JobStatus = JobStatus.QUEUED,
        document_id: str | None = None,
        chunk_count: int | None = None,
        active_key: str | None = None,
    ) -> str:
        """A new job; ``DuplicateJob`` when ``active_key``'s content already has an active job."""
        job_id, now = job_id or new_job_id(), self.clock()
        row = JobRow(
            id=job_id,
            owner_id=spec.get("owner_id", ""),
            status=status.value,
            progress=1.0 if status is JobStatus.DONE else 0.0,
            attempts=0,
            spec=spec,
            document_id=document_id or spec.get("document_id"),
            chunk_count=chunk_count,
            active_key=active_key if status.value in ACTIVE else None,
            lease_until=0.0,
            cancel_requested=False,
            created_at=now,
            updated_at=now,
        )
        try:
            with self.sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            existing = self.active(active_key) if active_key else None
            if existing is None:
                raise
            raise DuplicateJob(existing) from None
        return job_id

    def active(self, active_key: str) -> str | None:
        with self.sessions() as session:
            return session.scalar(select(JobRow.id).where(JobRow.active_key == active_key))

    def require(self, job_id: str) -> tuple[Job, dict[str, Any]]:
        """``get`` of a job known to exist (just created or leased)."""
        found = self.get(job_id)
        if found is None:
            raise RuntimeError(f"ingestion job {job_id} vanished")
        return found

    def get(self, job_id: str) -> tuple[Job, dict[str, Any]] | None:
        """The job and its spec (owner, document...), or None."""
        with self.sessions() as session:
            row = session.get(JobRow, job_id)
        if row is None:
            return None
        spec = dict(row.spec or {})
        job = Job(
            id=row.id,
            status=JobStatus(row.status),
            progress=row.progress,
            document_id=row.document_id or spec.get("document_id"),
            chunk_count=row.chunk_count,
            error=row.error or None,
            error_code=row.error_code,
            attempts=row.attempts,
            filename=spec.get("title"),
        )
        return job, spec

    def cancel(self, job_id: str) -> str:
        """'cancelled' (it was QUEUED: ended now), 'requested' (RUNNING: its worker stops it), or 'finished'."""
        if self._update(
            job_id,
            JobRow.status == JobStatus.QUEUED.value,
            status=JobStatus.CANCELLED.value,
            cancel_requested=True,
            active_key=None,
            error="cancelled by request",
            error_code="CANCELLED",
            progress=0.0,
        ):
            return "cancelled"
        if self._update(job_id, JobRow.status == JobStatus.RUNNING.value, cancel_requested=True):
            return "requested"
        return "finished"

    # ------------------------------------------------------------ worker side

    def claimable(self, limit: int, exclude: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """Up to ``limit`` QUEUED jobs, oldest first, skipping owners already at their quota."""
        if limit <= 0:
            return []
        now = self.clock()
        with self.sessions() as session:
            running = dict(
                session.execute(
                    select(JobRow.owner_id, func.count())
                    .where(JobRow.status == JobStatus.RUNNING.value, JobRow.lease_until >= now)
                    .group_by(JobRow.owner_id)
                ).all()
            )
            queued = session.execute(
                select(JobRow.id, JobRow.owner_id)
                .where(JobRow.status == JobStatus.QUEUED.value)
                .order_by(JobRow.created_at, JobRow.id)
                .limit(200)
            ).all()
        chosen: list[str] = []
        for job_id, owner in queued:
            if job_id in exclude or running.get(owner, 0) >= self.user_quota:
                continue
            running[owner] = running.get(owner, 0) + 1
            chosen.append(job_id)
            if len(chosen) >= limit:
                break
        return chosen

    def next_queued(self, exclude: set[str] | frozenset[str] = frozenset(), count: int = 1) -> list[str]:
        """The ``count`` oldest QUEUED jobs not in ``exclude``, whatever their owners' quota: those a
        worker may prepare ahead (convert, split, embed; nothing written) while a slot stands empty."""
        with self.sessions() as session:
            ids = session.scalars(
                select(JobRow.id)
                .where(JobRow.status == JobStatus.QUEUED.value)
                .order_by(JobRow.created_at, JobRow.id)
                .limit(len(exclude) + count)
            ).all()
        return [job_id for job_id in ids if job_id not in exclude][:count]

    def acquire(self, job_id: str) -> tuple[str, Lease | None]:
        """('acquired', lease) or (why not, None): missing, finished, busy, deferred (owner at quota),
        failed (out of attempts), cancelled."""
        now = self.clock()
        found = self.get(job_id)
        if found is None:
            return "missing", None
        job, spec = found
        owner_running = (
            select(func.count())
            .select_from(JobRow.__table__)
            .where(
                JobRow.owner_id == spec.get("owner_id", ""),
                JobRow.status == JobStatus.RUNNING.value,
                JobRow.lease_until >= now,
                JobRow.id != job_id,
            )
            .scalar_subquery()
        )
        takeable = or_(
            JobRow.status == JobStatus.QUEUED.value,
            and_(JobRow.status == JobStatus.RUNNING.value, JobRow.lease_until < now),
        )
        token = uuid.uuid4().hex
        if self._update(
            job_id,
            takeable,
            JobRow.cancel_requested.is_(False),
            JobRow.attempts < self.max_attempts,
            owner_running < self.user_quota,
            lock_owner=spec.get("owner_id", ""),
            status=JobStatus.RUNNING.value,
            attempts=JobRow.attempts + 1,
            lease_owner=token,
            lease_until=now + self.lease_seconds,
            progress=0.0,
            updated_at=now,
        ):
            return "acquired", Lease(job_id, token, spec)
        job = self.require(job_id)[0]
        if job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
            return "finished", None
        if job.status is JobStatus.RUNNING and self._lease_alive(job_id, now):
            return "busy", None
        if self._end_if_cancelled(job_id, takeable):
            return "cancelled", None
        if job.attempts >= self.max_attempts:
            with self.sessions() as session:
                reason = session.scalar(select(JobRow.last_error).where(JobRow.id == job_id))
            if self._update(
                job_id,
                takeable,
                status=JobStatus.FAILED.value,
                active_key=None,
                lease_owner=None,
                error_code="TOO_MANY_ATTEMPTS",
                error=f"gave up after {job.attempts} attempts: {reason or 'the worker stopped responding'}"[:500],
            ):
                return "failed", None
            return "busy", None
        return "deferred", None

    def _lease_alive(self, job_id: str, now: float) -> bool:
        with self.sessions() as session:
            return (session.scalar(select(JobRow.lease_until).where(JobRow.id == job_id)) or 0) >= now

    def _end_if_cancelled(self, job_id: str, *conditions) -> bool:
        return self._update(
            job_id,
            JobRow.cancel_requested.is_(True),
            *conditions,
            status=JobStatus.CANCELLED.value,
            active_key=None,
            lease_owner=None,
            error="cancelled by request",
            error_code="CANCELLED",
        )

    def heartbeat(self, lease: Lease) -> bool:
        return self._update(lease.job_id, *self._held(lease), lease_until=self.clock() + self.lease_seconds)

    def cancel_requested(self, job_id: str) -> bool:
        with self.sessions() as session:
            return bool(session.scalar(select(JobRow.cancel_requested).where(JobRow.id == job_id)))

    def progress(self, lease: Lease, progress: float, announce: bool = True) -> bool:
        """False when the lease was lost or the job was cancelled (``cancel_requested`` says which)."""
        return self._update(
            lease.job_id,
            *self._held(lease),
            JobRow.cancel_requested.is_(False),
            announce=announce,
            progress=round(min(max(progress, 0.0), 0.99), 3),
            lease_until=self.clock() + self.lease_seconds,
        )

    def done(self, lease: Lease, document_id: str, chunk_count: int) -> bool:
        return self._update(
            lease.job_id,
            *self._held(lease),
            status=JobStatus.DONE.value,
            progress=1.0,
            document_id=document_id,
            chunk_count=chunk_count,
            error=None,
            lease_owner=None,
            active_key=None,
        )

    def failed(self, lease: Lease, error: str, code: str = "INGESTION_FAILED") -> bool:
        return self._update(
            lease.job_id,
            *self._held(lease),
            status=JobStatus.FAILED.value,
            error=error[:500],
            error_code=code[:40],
            lease_owner=None,
            active_key=None,
        )

    def cancelled(self, lease: Lease) -> bool:
        return self._update(
            lease.job_id,
            *self._held(lease),
            status=JobStatus.CANCELLED.value,
            error="cancelled by request",
            error_code="CANCELLED",
            lease_owner=None,
            active_key=None,
        )

    def retry_later(self, lease: Lease, error: str) -> bool:
        """A transient failure: back to QUEUED unless out of attempts (then FAILED, and False)."""
        if self._update(
            lease.job_id,
            *self._held(lease),
            JobRow.attempts < self.max_attempts,
            status=JobStatus.QUEUED.value,
            progress=0.0,
            last_error=error[:300],
            lease_owner=None,
            lease_until=0.0,
        ):
            return True
        found = self.get(lease.job_id)
        attempts = found[0].attempts if found else self.max_attempts
        self.failed(lease, f"gave up after {attempts} attempts: {error}", "TOO_MANY_ATTEMPTS")
        return False

    def release(self, lease: Lease) -> bool:
        """A clean stop: back to QUEUED, the attempt given back."""
        return self._update(
            lease.job_id,
            *self._held(lease),
            status=JobStatus.QUEUED.value,
            progress=0.0,
            attempts=JobRow.attempts - 1,
            lease_owner=None,
            lease_until=0.0,
        )

    def reap(self) -> tuple[list[str], list[tuple[str, dict[str, Any], str]]]:
        """Lapsed leases: (jobs made QUEUED again, jobs FAILED as (id, spec, error)). Also forgets
        jobs that ended more than ``FINISHED_TTL`` ago."""
        now = self.clock()
        with self.sessions() as session:
            lapsed = session.execute(
                select(JobRow.id, JobRow.attempts, JobRow.cancel_requested)
                .where(JobRow.status == JobStatus.RUNNING.value, JobRow.lease_until < now)
                .limit(100)
            ).all()
        requeued, failed = [], []
        for job_id, attempts, cancel in lapsed:
            expired = (JobRow.status == JobStatus.RUNNING.value, JobRow.lease_until < now)
            if cancel and self._end_if_cancelled(job_id, *expired):
                failed.append((job_id, self.require(job_id)[1], "cancelled by request"))
            elif attempts >= self.max_attempts:
                error = f"gave up after {attempts} attempts: the worker stopped responding"
                if self._update(
                    job_id,
                    *expired,
                    status=JobStatus.FAILED.value,
                    error=error,
                    error_code="TOO_MANY_ATTEMPTS",
                    lease_owner=None,
                    active_key=None,
                ):
                    failed.append((job_id, self.require(job_id)[1], error))
            elif self._update(
                job_id,
                *expired,
                status=JobStatus.QUEUED.value,
                progress=0.0,
                lease_owner=None,
                lease_until=0.0,
                last_error="the worker stopped responding",
            ):
                requeued.append(job_id)
        with self.engine.begin() as connection:
            connection.execute(
                delete(JobRow).where(JobRow.status.not_in(ACTIVE), JobRow.updated_at < now - FINISHED_TTL)
            )
        return requeued, failed

    def active_ids(self, job_ids: list[str]) -> set[str]:
        """Which of ``job_ids`` are QUEUED or RUNNING (their staged files must stay)."""
        if not job_ids:
            return set()
        with self.sessions() as session:
            return set(session.scalars(select(JobRow.id).where(JobRow.id.in_(job_ids), JobRow.status.in_(ACTIVE))))

    def queued_ids(self, job_ids: list[str]) -> set[str]:
        """Which of ``job_ids`` are still QUEUED (their wake-up messages are still worth holding)."""
        if not job_ids:
            return set()
        with self.sessions() as session:
            return set(
                session.scalars(
                    select(JobRow.id).where(JobRow.id.in_(job_ids), JobRow.status == JobStatus.QUEUED.value)
                )
            )


# KEYS[1] the job's version counter; ARGV: its expiry (s), the changes channel, the job id, and
# the ended job as JSON or "" (appended to the announcement: "<job id> <version>[ <json>]").
BUMP = """
local version = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
local message = ARGV[3] .. ' ' .. version
if ARGV[4] ~= '' then
    message = message .. ' ' .. ARGV[4]
end
redis.call('PUBLISH', ARGV[2], message)
return version
"""


class JobVersions:
    """Bumps a job's version counter in Redis (``schema.rag.job_version_key``) after each change and
    announces the new version (``schema.rag.job_changes_channel``), so the gateway's
    ``ingestionProgress`` reads the job as soon as it moved, and only then; the change that ends a
    job carries the job itself, so nobody reads it again. In the service it is a
    green thread of its own: a slow or absent Redis never holds up ingestion (readers poll too)."""

    TTL = 24 * 3600  # s; longer than any watch of a job that changes

    def __init__(self, redis_client, prefix: str) -> None:
        self.prefix = prefix
        self._bump = redis_client.register_script(BUMP)
        self.channel = job_changes_channel(prefix)

    def __call__(self, job_id: str, ended: Job | None = None) -> None:
        if offloading():
            import eventlet

            eventlet.spawn_n(self.bump, job_id, ended)
        else:
            self.bump(job_id, ended)

    def bump(self, job_id: str, ended: Job | None = None) -> None:
        """``ended``: the job, when this change ended it, carried in the announcement: a watcher
        shows it as it is without reading it again (the last and most awaited change)."""
        final = ended.model_dump_json() if ended is not None else ""
        try:
            self._bump(keys=[job_version_key(self.prefix, job_id)], args=[self.TTL, self.channel, job_id, final])
        except Exception as exc:
            log.debug("could not bump the version of ingestion job %s: %r", job_id, exc)
