"""Subscriptions of the rag domain: an ingestion job's progress until it ends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

import strawberry
from pydantic import ValidationError
from strawberry.types import Info

from gateway.context import Context
from gateway.graphql.live import live
from gateway.graphql.permissions import operation_field
from gateway.graphql.rag.types import IngestionJob
from gateway.graphql.rag.watch import JobWatch
from schema import rag

POLL_SECONDS = 0.5  # without a job watch (an app without its lifespan): read the job this often
FALLBACK_SECONDS = 5.0  # with one: read it at least this often (a change whose counter bump was lost)


@strawberry.type
class RagSubscription:
    @operation_field(
        rag.JOB, is_subscription=True, description="The job now, then every change, ending with DONE or FAILED."
    )
    async def ingestion_progress(
        self, info: Info[Context, None], job_id: strawberry.ID
    ) -> AsyncGenerator[IngestionJob, None]:
        async for job in live(info, _progress(info, str(job_id))):
            yield job


async def _progress(info: Info[Context, None], job_id: str) -> AsyncGenerator[IngestionJob, None]:
    """The job over RPC (rag checks it is the caller's), again each time its version moves; the
    end as announced, once the first read showed the job is the caller's."""
    jobs: JobWatch | None = getattr(info.context.request.app.state, "jobs", None)
    changed = jobs.watch(job_id) if jobs is not None else asyncio.Event()  # never set: a plain poll
    wait = FALLBACK_SECONDS if jobs is not None else POLL_SECONDS
    try:
        last = None
        while True:
            changed.clear()  # before reading: a change during the read is not missed
            job = _announced_end(jobs, changed) if jobs is not None and last is not None else None
            if job is None:
                job = await info.context.invoke(rag.JOB, {"job_id": job_id})
            state = (job.status, job.progress, job.error)
            if state != last:
                last = state
                yield IngestionJob.from_pydantic(job)
            if job.status in rag.ENDED:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), wait)
    finally:
        if jobs is not None:
            jobs.unwatch(changed)


def _announced_end(jobs: JobWatch, changed: asyncio.Event) -> rag.Job | None:
    """The job as the announcement of its end carried it, if one came and this gateway reads it."""
    ended = jobs.ended(changed)
    if ended is None:
        return None
    try:
        return rag.Job.model_validate_json(ended)
    except ValidationError:  # from a rag this gateway does not know: read the job instead
        return None
