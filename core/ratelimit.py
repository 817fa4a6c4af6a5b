"""Sliding-window rate limits in Redis, atomic under any concurrency.

One Lua script does trim → count → admit in a single step, so 50 simultaneous
requests against a limit of 10 admit exactly 10, whichever process sends them.
Why a script of our own: the limiter must be shared by the asyncio gateway and
the eventlet services and keep per-key windows; redis-py gives us atomic Lua,
which is all this needs.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import redis
import redis.asyncio
from pydantic import AfterValidator

# One sliding window, as a Lua function other scripts can include (the gateway's admission,
# gateway/auth.py): key, now_ms, window_ms, limit, member, cost (0 = peek; N: N units, all or none).
SLIDING_WINDOW_FUNCTION = """
local function sliding_window(key, now, window, limit, member, cost)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count + math.max(cost, 1) > limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local retry = window
    if oldest[2] then retry = tonumber(oldest[2]) + window - now end
    return {0, count, retry}
  end
  if cost > 0 then
    for i = 1, cost do redis.call('ZADD', key, now, member .. ':' .. i) end
    redis.call('PEXPIRE', key, window)
    count = count + cost
  end
  return {1, count, 0}
end
"""

# KEYS[1] window key; ARGV: now_ms, window_ms, limit, member, cost
SLIDING_WINDOW = (
    SLIDING_WINDOW_FUNCTION
    + """
return sliding_window(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]))
"""
)


@dataclass(frozen=True)
class Limit:
    """``requests`` per ``seconds``; parsed from strings like ``"60/minute"``."""

    requests: int
    seconds: int

    @property
    def window_ms(self) -> int:
        return self.seconds * 1000

    @classmethod
    def parse(cls, text: str) -> Limit:
        units = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
        count, _, unit = text.strip().partition("/")
        unit = unit.strip().rstrip("s") or "minute"
        if unit not in units or not count.strip().isdigit() or int(count) < 1:
            raise ValueError(f"not a rate limit: {text!r} (expected e.g. '60/minute')")
        return cls(int(count), units[unit])


def _check_spec(text: str) -> str:
    Limit.parse(text)
    return text


LimitSpec = Annotated[str, AfterValidator(_check_spec)]
"""A settings field holding ``"N/unit"``: a bad value stops the process at start."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    retry_after: int  # whole seconds, at least 1 when refused


def decision_of(reply: Iterable[Any]) -> Decision:
    """A window's reply ``{allowed, count, retry_ms}`` as a ``Decision``."""
    allowed, count, retry_ms = (int(v) for v in reply)
    return Decision(bool(allowed), count, max(1, math.ceil(retry_ms / 1000)) if not allowed else 0)


def window_args(limit: Limit, cost: int, now: float | None = None) -> list[int | str]:
    """ARGV of one window: now_ms, window_ms, limit, member, cost."""
    now_ms = int((now if now is not None else time.time()) * 1000)
    return [now_ms, limit.window_ms, limit.requests, f"{now_ms}-{uuid.uuid4().hex}", cost]


class SyncLimiter:
    """For the eventlet services (redis-py, greened)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.prefix = prefix
        self._script = client.register_script(SLIDING_WINDOW)

    def hit(self, name: str, limit: Limit, now: float | None = None, cost: int = 1) -> Decision:
        return decision_of(self._script(keys=[f"{self.prefix}rl:{name}"], args=window_args(limit, cost, now)))

    def peek(self, name: str, limit: Limit, now: float | None = None) -> Decision:
        return decision_of(self._script(keys=[f"{self.prefix}rl:{name}"], args=window_args(limit, 0, now)))


class AsyncLimiter:
    """For the gateway (redis.asyncio)."""

    def __init__(self, client: redis.asyncio.Redis, prefix: str) -> None:
        self.prefix = prefix
        self._script = client.register_script(SLIDING_WINDOW)

    def key(self, name: str) -> str:
        """The Redis key of the window ``name``."""
        return f"{self.prefix}rl:{name}"

    async def hit(self, name: str, limit: Limit, now: float | None = None, cost: int = 1) -> Decision:
        """Take ``cost`` units at once, or none when fewer are left."""
        return decision_of(await self._script(keys=[self.key(name)], args=window_args(limit, cost, now)))
