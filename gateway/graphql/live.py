"""Revocation reaches open subscriptions: logout, a revoked session or key, a
deactivated user or a changed role end the principal's subscriptions within
about a second.

One ``RevocationWatch`` per gateway process polls Redis for every open
subscription at once (one ``MGET`` per ``interval``, whatever the number of
subscriptions), with the same keys the edge checks per request
(``core.tokens.revocation_keys``). Each subscription resolver wraps its
stream in ``live(info, stream)``: when the watch sees its token revoked, the
stream stops with ``UNAUTHENTICATED`` (``reason: revoked``).

``live`` also bounds subscriptions: at most ``max_subscriptions_per_connection``
open on one WebSocket and ``max_subscriptions_per_ip`` from one address (across
all gateway processes, ``SubscriptionLeases``), each ending after
``subscription_max_seconds``; over a cap the new subscription is refused with
``RATE_LIMITED``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

from redis.asyncio import Redis
from starlette.websockets import WebSocket
from strawberry.types import Info

from core import metrics
from core.redis_client import is_redis_down, redis_unavailable
from core.tokens import is_revoked, revocation_epoch_key, revocation_keys, revocation_unknown
from gateway.auth import session_ended
from schema.errors import RateLimited

log = logging.getLogger("agenthub.gateway")
T = TypeVar("T")
W = TypeVar("W")  # what one watched event stands for


class BatchedWatch(Generic[W]):
    """Events for what this process watches, all checked in one Redis round trip per ``interval``
    (``_check``), however many subscriptions watch: one task, started by the first ``_add``."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._watched: dict[asyncio.Event, W] = {}
        self._task: asyncio.Task[None] | None = None

    def _add(self, state: W) -> asyncio.Event:
        event = asyncio.Event()
        self._watched[event] = state
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll(), name=type(self).__name__)
        return event

    def unwatch(self, event: asyncio.Event) -> None:
        self._watched.pop(event, None)

    @property
    def watching(self) -> int:
        return len(self._watched)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _poll(self) -> None:
        while self._watched:
            await asyncio.sleep(self.interval)
            watched = list(self._watched.items())
            if not watched:
                break
            await self._check(watched)

    async def _check(self, watched: list[tuple[asyncio.Event, W]]) -> None:
        raise NotImplementedError


class RevocationWatch(BatchedWatch[dict[str, Any]]):
    def __init__(
        self, redis: Redis, prefix: str, interval: float = 0.5, republish: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        super().__init__(interval)
        self.redis, self.prefix = redis, prefix
        self.republish = republish  # the edge's: auth rewrites the revocation state when its epoch is gone

    def watch(self, claims: dict[str, Any]) -> asyncio.Event:
        """An event set when ``claims``' token is revoked (until ``unwatch``)."""
        return self._add(claims)

    async def _check(self, watched: list[tuple[asyncio.Event, dict[str, Any]]]) -> None:
        slices, keys = [], [revocation_epoch_key(self.prefix)]
        for _, claims in watched:
            own = revocation_keys(self.prefix, claims)
            slices.append((len(keys), len(own)))
            keys.extend(own)
        try:
            values = await self.redis.mget(keys)
        except Exception as exc:  # Redis away: keep the streams; the next poll tries again
            log.warning("revocation watch: Redis unavailable", extra={"fields": {"error": repr(exc)}})
            return
        if revocation_unknown(values[0]) and self.republish is not None:
            # Redis lost the revocation state (restarted empty): have auth rewrite it, then look again
            with contextlib.suppress(Exception):
                await self.republish()
            return
        for (event, claims), (start, length) in zip(watched, slices):
            if is_revoked(claims, values[start : start + length]):
                event.set()
                self._watched.pop(event, None)


# KEYS[1] the address's lease set; ARGV: now_ms, lease_ms, limit, member. Drops expired leases, then
# adds one unless ``limit`` are held: atomic, so two gateways cannot both take the last place.
TAKE_LEASE = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZCARD', key) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', key, now + lease, ARGV[4])
redis.call('PEXPIRE', key, lease)
return 1
"""


class SubscriptionLeases:
    """Subscriptions per client address, counted across every gateway process in Redis.

    Each open subscription holds a lease: a member of the sorted set
    ``{prefix}subs:ip:{address}`` scored with its expiry. Opening takes one
    (``TAKE_LEASE``: expired leases dropped, refused at the cap), closing removes
    it, and while this process lives it extends its leases every ``lease / 3``
    seconds. A gateway that dies (SIGKILL, lost pod) stops extending them, so its
    subscriptions stop counting within ``lease`` seconds; no counter leaks.
    """

    def __init__(self, redis: Redis, prefix: str, lease: float = 30.0) -> None:
        self.redis, self.prefix, self.lease = redis, prefix, lease
        self.owner = uuid.uuid4().hex  # this process: its members are "<owner>:<n>"
        self._take = redis.register_script(TAKE_LEASE)
        self._held: dict[str, str] = {}  # member -> key
        self._count = 0
        self._task: asyncio.Task[None] | None = None

    def _key(self, ip: str) -> str:
        return f"{self.prefix}subs:ip:{ip}"

    async def take(self, ip: str, limit: int) -> str | None:
        """A lease for one more subscription from ``ip`` (its member), or None at the cap.
        Redis down: ``SERVICE_UNAVAILABLE`` (dependency redis)."""
        self._count += 1
        member, key = f"{self.owner}:{self._count}", self._key(ip)
        try:
            taken = await self._take(keys=[key], args=[int(time.time() * 1000), int(self.lease * 1000), limit, member])
        except Exception as exc:
            if is_redis_down(exc):
                raise redis_unavailable() from exc
            raise
        if not taken:
            return None
        self._held[member] = key
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._renew(), name="subscription-leases")
        return member

    async def release(self, member: str) -> None:
        key = self._held.pop(member, None)
        if key is not None:
            try:
                await self.redis.zrem(key, member)
            except Exception as exc:  # Redis away: the lease runs out by itself
                log.warning("subscription lease not released", extra={"fields": {"error": repr(exc)}})

    @property
    def held(self) -> int:
        return len(self._held)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _renew(self) -> None:
        while self._held:
            await asyncio.sleep(self.lease / 3)
            held = list(self._held.items())
            if not held:
                break
            expiry, lease_ms = int(time.time() * 1000 + self.lease * 1000), int(self.lease * 1000)
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for member, key in held:
                        pipe.zadd(key, {member: expiry}, xx=True)  # xx: a released lease stays released
                    for key in {key for _, key in held}:
                        pipe.pexpire(key, lease_ms)
                    await pipe.execute()
            except Exception as exc:  # Redis away: try again next round (the leases may lapse meanwhile)
                log.warning("subscription leases not renewed", extra={"fields": {"error": repr(exc)}})


async def live(info: Info, stream: AsyncIterator[T]) -> AsyncGenerator[T, None]:
    """``stream``, bounded (see the module docstring) and ended with ``UNAUTHENTICATED`` as soon as the
    caller's token is revoked; counted in ``agenthub_graphql_subscriptions_active`` while it runs
    (every subscription runs through here)."""
    metrics.SUBSCRIPTIONS.inc()
    try:
        async with contextlib.aclosing(_live(info, stream)) as running:
            async for item in running:
                yield item
    finally:
        metrics.SUBSCRIPTIONS.dec()


async def _live(info: Info, stream: AsyncIterator[T]) -> AsyncGenerator[T, None]:
    context = info.context
    watch: RevocationWatch | None = getattr(context.request.app.state, "live", None)
    if watch is None or not isinstance(context.request, WebSocket):
        async for item in stream:
            yield item
        return
    settings = context.settings
    ip = context.client_ip or "-"
    if context.open_subscriptions >= settings.max_subscriptions_per_connection:
        raise RateLimited(
            f"At most {settings.max_subscriptions_per_connection} subscriptions per connection.",
            {"retryAfter": 1, "reason": "subscriptions_per_connection"},
        )
    leases: SubscriptionLeases = context.request.app.state.leases
    lease = await leases.take(ip, settings.max_subscriptions_per_ip)
    if lease is None:
        raise RateLimited(
            f"At most {settings.max_subscriptions_per_ip} subscriptions per client address.",
            {"retryAfter": 5, "reason": "subscriptions_per_ip"},
        )
    context.open_subscriptions += 1
    revoked = watch.watch(context.claims) if context.claims is not None else asyncio.Event()
    waiting = asyncio.ensure_future(revoked.wait())
    deadline = asyncio.get_running_loop().time() + settings.subscription_max_seconds
    step: asyncio.Future[T] | None = None
    try:
        while True:
            step = asyncio.ensure_future(anext(stream))
            left = deadline - asyncio.get_running_loop().time()
            await asyncio.wait({step, waiting}, timeout=max(0.0, left), return_when=asyncio.FIRST_COMPLETED)
            if not step.done():  # its step is ended in `finally`
                if revoked.is_set():
                    raise session_ended()
                return  # its maximum lifetime: completed; the client subscribes again if it still wants
            try:
                item = step.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        waiting.cancel()
        if step is not None and not step.done():
            # Revoked, at its maximum lifetime, or the client left while the stream was awaited:
            # ended here, or it would run on until its next item came (``aclose`` below fails on
            # a stream in use), uncounted by the caps, and then log "Task exception was never
            # retrieved".
            step.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, Exception):
                await step
        watch.unwatch(revoked)
        context.open_subscriptions -= 1
        await leases.release(lease)
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
