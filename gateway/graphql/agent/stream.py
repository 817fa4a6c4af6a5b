"""Relaying a run's Redis Stream to a GraphQL client: replay, then follow live.

The agent service writes the stream; the gateway only reads it (with
redis.asyncio, never blocking the event loop). Ownership is checked by the
agent service *before* a stream is read here (``get_run`` is NOT_FOUND for
anyone but the run's owner). Every relay of a gateway process is read by one
``RunStreams`` task on one Redis connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from core.redis_client import async_client, is_redis_down
from schema.agent import TERMINAL_EVENTS, EventType, RunEvent, RunStatus, entry_id, run_events_key

BLOCK_MS = 2000  # at most; always below the client's socket timeout (block_ms)
IDLE_CHECK_SECONDS = 10.0
MAX_PENDING = 10_000  # events read for a relay and not yet sent to its client

log = logging.getLogger("agenthub.gateway")


def block_ms(client: Redis) -> int:
    """How long one XREAD may block: half the client's socket timeout, at most ``BLOCK_MS``. A block as
    long as the timeout makes a quiet stream (a model thinking) look like a Redis that does not answer."""
    timeout = client.connection_pool.connection_kwargs.get("socket_timeout") or BLOCK_MS / 1000
    return max(100, min(BLOCK_MS, int(timeout * 500)))


@dataclass(eq=False)
class Follower:
    """One relay's place in its stream, and the entries read for it that it has not taken yet."""

    key: str
    last: bytes | str
    pending: deque[Any] = field(default_factory=deque)  # (entry id, fields), or a RedisError
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    behind: bool = False  # too much pending: the reader dropped it; it catches up by itself


class RunStreams:
    """Every run stream this gateway process relays, read by one blocking XREAD at a time.

    Why: each relay used to block in an XREAD of its own, holding one of the process's pooled Redis
    connections for as long as its run was followed; as many open runs as the pool has connections
    (``AGENTHUB_REDIS_MAX_CONNECTIONS``) left none for the edge's rate limits and revocation checks.
    Here one task reads every followed stream on a connection of its own (``reader``) and hands each
    relay its entries. A relay that joins while the task blocks adds an entry to this process's wake
    stream, which the task reads too, so it starts over with the new stream at once. Short commands
    (``EXISTS``, a relay catching up) go through the shared pool (``client``). Multi-key XREAD: the
    streams must live on one Redis node (no Redis Cluster; Sentinel and a single node are fine).
    """

    def __init__(self, client: Redis, reader: Redis, prefix: str) -> None:
        self.client, self.reader = client, reader
        self.block = block_ms(reader)
        self.wake_key = f"{prefix}gateway:relay:{uuid.uuid4().hex}:wake"
        self._wake_last: bytes | str = "0-0"
        self._followers: dict[str, set[Follower]] = {}
        self._joined = asyncio.Event()
        self._reading = False
        self._task: asyncio.Task[None] | None = None

    @property
    def following(self) -> int:
        return sum(len(f) for f in self._followers.values())

    async def join(self, key: str, last: bytes | str) -> Follower:
        follower = Follower(key, last)
        self._followers.setdefault(key, set()).add(follower)
        self._joined.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._read(), name="RunStreams.read")
        elif self._reading:  # blocked on the other streams: wake it up to read this one too
            try:
                async with self.client.pipeline(transaction=False) as pipe:
                    pipe.xadd(self.wake_key, {"joined": key}, maxlen=1, approximate=False)
                    pipe.pexpire(self.wake_key, 60_000)
                    await pipe.execute()
            except BaseException:
                self.leave(follower)
                raise
        return follower

    def leave(self, follower: Follower) -> None:
        followers = self._followers.get(follower.key)
        if followers is not None:
            followers.discard(follower)
            if not followers:
                del self._followers[follower.key]

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.reader.aclose()

    async def _read(self) -> None:
        while True:
            if not self._followers:
                self._joined.clear()
                await self._joined.wait()
                continue
            streams: dict[Any, Any] = {self.wake_key: self._wake_last}
            for key, followers in self._followers.items():
                streams[key] = min((f.last for f in followers), key=_position)
            self._reading = True
            try:
                # redis-py types XREAD's reply loosely; it is [[stream, [(entry id, fields), …]], …]
                reply: list[tuple[Any, list[tuple[bytes | str, dict[Any, Any]]]]] = await self.reader.xread(  # type: ignore[assignment]
                    streams, count=500, block=self.block
                )
            except Exception as exc:  # every relay ends with it (Redis down: a clear RUN_FAILED each)
                if not isinstance(exc, RedisError):
                    log.exception("run streams: the reader failed")
                for followers in list(self._followers.values()):
                    for follower in followers:
                        follower.pending.append(exc)
                        follower.ready.set()
                self._followers.clear()
                continue
            finally:
                self._reading = False
            for stream, entries in reply or []:
                key = stream.decode() if isinstance(stream, bytes) else stream
                if key == self.wake_key:
                    self._wake_last = entries[-1][0]
                    continue
                for follower in list(self._followers.get(key, ())):
                    self._hand(follower, entries)

    def _hand(self, follower: Follower, entries: list[tuple[bytes | str, dict[Any, Any]]]) -> None:
        after = _position(follower.last)
        fresh = [entry for entry in entries if _position(entry[0]) > after]
        if not fresh:
            return
        follower.last = fresh[-1][0]
        follower.pending.extend(fresh)
        if len(follower.pending) > MAX_PENDING:  # its client reads slower than the run writes
            follower.behind = True
            self.leave(follower)
        follower.ready.set()


def _position(entry_id: bytes | str) -> tuple[int, ...]:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return tuple(int(part) for part in text.split("-"))


def run_streams(connection: HTTPConnection) -> RunStreams:
    """The process's ``RunStreams`` (``app.state.run_streams``), made at its first use."""
    state = connection.app.state
    streams = getattr(state, "run_streams", None)
    if streams is None:
        settings = state.settings
        client = getattr(state, "redis", None) or async_client(settings)
        reader = async_client(settings, socket_timeout=BLOCK_MS / 1000 + 3, max_connections=1)
        streams = state.run_streams = RunStreams(client, reader, settings.redis_prefix)
    return streams


async def close_streams(app: Starlette) -> None:
    """For the app's lifespan shutdown: the reader's task and connection."""
    streams = getattr(app.state, "run_streams", None)
    if streams is not None:
        await streams.close()
        app.state.run_streams = None


async def follow(
    streams: RunStreams, prefix: str, run_id: str, after_seq: int, run_status: Callable[[], Awaitable[RunStatus]]
) -> AsyncIterator[RunEvent]:
    """Events after ``after_seq`` in order, then live ones, until the run's terminal event.

    When the stream is silent for a while, ``run_status()`` (the agent's
    ``get_run``) says whether the run still runs: a run whose agent died is
    marked FAILED there, and its RUN_FAILED event then arrives here.

    Redis lost (down, or restarted without the stream): the relay ends with a
    ``RUN_FAILED`` event that says so; the run's record stays in the agent's
    database (``agentRun(id)``).
    """
    key = run_events_key(prefix, run_id)
    seq = after_seq
    client = streams.client
    try:
        if not await client.exists(key) and await run_status() is not RunStatus.RUNNING:
            return  # an ended run whose events have expired: nothing to replay, nothing to wait for
        follower = await streams.join(key, entry_id(after_seq) if after_seq else "0-0")
        try:
            while True:
                if follower.behind and not follower.pending:
                    # let go by the reader: read on here up to the end of the stream, then join again
                    caught: list[tuple[Any, list[tuple[bytes | str, dict[Any, Any]]]]] = await client.xread(  # type: ignore[assignment]
                        {key: follower.last}, count=500
                    )
                    if caught:
                        follower.pending.extend(caught[0][1])
                        follower.last = caught[0][1][-1][0]
                    else:
                        follower = await streams.join(key, follower.last)
                        continue
                if not follower.pending:
                    try:
                        await asyncio.wait_for(follower.ready.wait(), IDLE_CHECK_SECONDS)
                    except TimeoutError:
                        status = await run_status()
                        if status is not RunStatus.RUNNING and not await client.xread({key: follower.last}, count=1):
                            # ended without its terminal event reaching the stream (Redis lost it)
                            yield _lost(
                                run_id,
                                seq,
                                "EVENTS_LOST",
                                f"The run's live events were lost (Redis "
                                f"restarted); it ended {status.value}: read agentRun for its result.",
                            )
                            return
                        continue
                    follower.ready.clear()
                while follower.pending:
                    entry = follower.pending.popleft()
                    if isinstance(entry, BaseException):
                        raise entry
                    event = RunEvent.from_entry(run_id, entry[0], entry[1])
                    seq = event.seq
                    yield event
                    if event.type in TERMINAL_EVENTS:
                        return
        finally:
            streams.leave(follower)
    except RedisError as exc:
        if not is_redis_down(exc):
            raise
        yield _lost(
            run_id,
            seq,
            "SERVICE_UNAVAILABLE",
            "The run's live events are unavailable (redis is down). "
            "The run's result stays available: read agentRun later.",
        )


def _lost(run_id: str, seq: int, code: str, message: str) -> RunEvent:
    """The clear end of a relay whose stream Redis lost (not stored: the stream is gone)."""
    return RunEvent(
        run_id=run_id,
        seq=seq + 1,
        type=EventType.RUN_FAILED,
        data={"code": code, "message": message, "dependency": "redis"},
    )
