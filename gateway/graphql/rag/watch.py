"""Which ingestion jobs changed, for every ``ingestionProgress`` subscription of this process.

rag bumps a job's version counter in Redis on each change (``schema.rag.job_version_key``,
``services/rag/jobs.py: JobVersions``) and announces the new version on one channel
(``schema.rag.job_changes_channel``). This process listens on that channel (one connection,
whatever the number of subscriptions) and wakes the watchers of a job the moment its version
moves; a subscription then reads its job over RPC, and only then (a queued job can wait minutes).
The announcement of the change that ended a job carries the job: its subscriptions show it as it
is, without reading it.

Announcements are fire-and-forget (one sent while this process reconnects is lost), so each
watched job's counter is also read here, all of them in one ``MGET`` every ``interval``: a lost
announcement costs at most that delay. While Redis cannot answer, every watched job counts as
changed: the subscriptions poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from gateway.graphql.live import BatchedWatch
from schema.rag import job_changes_channel, job_version_key

log = logging.getLogger("agenthub.gateway")

RECONNECT_SECONDS = 1.0  # between attempts to listen again while Redis is away
UNSEEN = object()  # no reading yet: the first one counts as a change (the job may have moved already)


@dataclass
class _Watched:
    job_id: str
    key: str
    version: object = UNSEEN
    ended: str | None = None  # the job as JSON, from the announcement of the change that ended it


class JobWatch(BatchedWatch[_Watched]):
    def __init__(self, redis: Redis, prefix: str, interval: float = 1.0) -> None:
        super().__init__(interval)
        self.redis, self.prefix = redis, prefix
        self.channel = job_changes_channel(prefix)
        self._listener: asyncio.Task[None] | None = None

    def watch(self, job_id: str) -> asyncio.Event:
        """An event set when the job's version moves (until ``unwatch``); clear it before reading."""
        event = self._add(_Watched(job_id, job_version_key(self.prefix, job_id)))
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen(), name="JobWatch.listen")
        return event

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        await super().close()

    async def _listen(self) -> None:
        """Announcements, for as long as this process lives (one idle connection when none come)."""
        while True:
            try:
                async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.channel)
                    while True:
                        message = await pubsub.get_message(timeout=5.0)
                        if message is not None:
                            self._announced(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: the counters' reads carry on meanwhile
                log.warning("job watch: announcements unavailable", extra={"fields": {"error": repr(exc)}})
                await asyncio.sleep(RECONNECT_SECONDS)

    def ended(self, changed: asyncio.Event) -> str | None:
        """The job as JSON, when the announcement of the change that ended it was received (an
        ended job never changes again: it can be shown without reading it)."""
        state = self._watched.get(changed)
        return state.ended if state is not None else None

    def _announced(self, data: bytes | str) -> None:
        job_id, _, rest = (data.decode() if isinstance(data, bytes) else data).partition(" ")
        version, _, ended = rest.partition(" ")
        for changed, state in list(self._watched.items()):
            if state.job_id == job_id and state.version != version:
                state.version = version
                state.ended = ended or state.ended
                changed.set()

    async def _check(self, watched: list[tuple[asyncio.Event, _Watched]]) -> None:
        versions: Sequence[object]
        try:
            versions = await self.redis.mget([w.key for _, w in watched])
        except Exception as exc:  # Redis away: everyone polls, every other interval, until it is back
            log.warning("job watch: Redis unavailable", extra={"fields": {"error": repr(exc)}})
            versions = [UNSEEN] * len(watched)
            await asyncio.sleep(self.interval)
        for (changed, state), version in zip(watched, versions):
            text = version.decode() if isinstance(version, bytes) else version  # as announcements carry it
            if version is UNSEEN or text != state.version:
                state.version = text
                changed.set()
