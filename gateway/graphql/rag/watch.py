"""Which ingestion jobs changed, for every ``ingestionProgress`` subscription of this process.

rag bumps a job's version counter in Redis on each change (``schema.rag.job_version_key``,
``services/rag/jobs.py: JobVersions``). Each watched job's counter is read here, all of them in
one ``MGET`` every ``interval``; a subscription reads its job over RPC only when the counter
moved, instead of every half second whether or not it did (a queued job can wait minutes).
While Redis cannot answer, every watched job counts as changed: the subscriptions poll, as
they did before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from gateway.graphql.live import BatchedWatch
from schema.rag import job_version_key

log = logging.getLogger("agenthub.gateway")

UNSEEN = object()  # no reading yet: the first one counts as a change (the job may have moved already)


@dataclass
class _Watched:
    key: str
    version: object = UNSEEN


class JobWatch(BatchedWatch[_Watched]):
    def __init__(self, redis: Redis, prefix: str, interval: float = 0.25) -> None:
        super().__init__(interval)
        self.redis, self.prefix = redis, prefix

    def watch(self, job_id: str) -> asyncio.Event:
        """An event set when the job's version moves (until ``unwatch``); clear it before reading."""
        return self._add(_Watched(job_version_key(self.prefix, job_id)))

    async def _check(self, watched: list[tuple[asyncio.Event, _Watched]]) -> None:
        versions: Sequence[object]
        try:
            versions = await self.redis.mget([w.key for _, w in watched])
        except Exception as exc:  # Redis away: everyone polls, every other interval, until it is back
            log.warning("job watch: Redis unavailable", extra={"fields": {"error": repr(exc)}})
            versions = [UNSEEN] * len(watched)
            await asyncio.sleep(self.interval)
        for (changed, state), version in zip(watched, versions):
            if version is UNSEEN or version != state.version:
                state.version = version
                changed.set()
