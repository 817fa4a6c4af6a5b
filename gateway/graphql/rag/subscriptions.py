"""Subscriptions of the rag domain: an ingestion job's progress until it ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from gateway.context import Context
from gateway.graphql.live import live
from gateway.graphql.permissions import requires
from gateway.graphql.rag.types import IngestionJob
from schema.permissions import Permission
from schema.rag import JobStatus

POLL_SECONDS = 0.5


@strawberry.type
class RagSubscription:
    @strawberry.subscription(extensions=[requires(Permission.READ_RAG)],
                             description="The job now, then every change, ending with DONE or FAILED.")
    async def ingestion_progress(self, info: Info[Context, None], job_id: strawberry.ID
                                 ) -> AsyncGenerator[IngestionJob, None]:
        async for job in live(info, _progress(info, str(job_id))):
            yield job


async def _progress(info: Info[Context, None], job_id: str) -> AsyncGenerator[IngestionJob, None]:
    last = None
    while True:
        job = await info.context.call("rag", "job", str(job_id))
        state = (job["status"], job["progress"], job.get("error"))
        if state != last:
            last = state
            yield IngestionJob.from_payload(job)
        if job["status"] in (JobStatus.DONE.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value):
            return
        await asyncio.sleep(POLL_SECONDS)
