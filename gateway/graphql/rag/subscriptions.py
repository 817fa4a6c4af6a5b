"""Subscriptions of the rag domain: an ingestion job's progress until it ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from gateway.context import Context
from gateway.graphql.live import live
from gateway.graphql.permissions import operation_field
from gateway.graphql.rag.types import IngestionJob
from schema import rag

POLL_SECONDS = 0.5


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
    last = None
    while True:
        job = await info.context.invoke(rag.JOB, {"job_id": job_id})
        state = (job.status, job.progress, job.error)
        if state != last:
            last = state
            yield IngestionJob.from_pydantic(job)
        if job.status in rag.ENDED:
            return
        await asyncio.sleep(POLL_SECONDS)
