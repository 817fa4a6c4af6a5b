"""Login throttling: an attempt is reserved atomically *before* the password is checked.

Why not "check the limit, verify, then record the failure": concurrent guesses all
pass the check before any failure is recorded (20 simultaneous guesses got about
twice the allowed tries). Here one Lua script checks every window and, only if all
admit, adds the attempt to all of them in the same step; a correct password then
gives its reservation back. So N concurrent guesses against a limit of L get
exactly L password checks.

Windows (sliding, per ``AGENTHUB_LOGIN_*``):

* per (username, client address): the small one (default 5/minute). When it is
  spent, that pair waits one window, then twice as long the next time, and so
  on (growing delays, capped at a day) — the owner signing in from elsewhere is
  not affected;
* per client address, any username (default 20/minute);
* per username from all addresses together, a high cap (default 100/hour) so a
  distributed guess stays slow without a few failures locking the owner out.

A username that does not exist is throttled exactly like one that does.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass

from core.ratelimit import Limit

MAX_PENALTY_MS = 86_400_000

# KEYS: penalty, level, window_1..n (window_1 is the pair's: the one that escalates)
# ARGV: now_ms, member, then (window_ms, limit) per window
RESERVE = """
local now = tonumber(ARGV[1])
local member = ARGV[2]
local penalty = redis.call('PTTL', KEYS[1])
if penalty > 0 then return {0, penalty, 1} end
local n = #KEYS - 2
for i = 1, n do
  local key = KEYS[i + 2]
  local window = tonumber(ARGV[1 + 2 * i])
  local limit = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local retry = window
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if oldest[2] then retry = tonumber(oldest[2]) + window - now end
    if i == 1 then
      local level = redis.call('INCR', KEYS[2])
      redis.call('PEXPIRE', KEYS[2], 86400000)
      retry = math.min(window * 2 ^ (level - 1), tonumber(ARGV[#ARGV]))
      redis.call('SET', KEYS[1], '1', 'PX', math.floor(retry))
    end
    return {0, math.floor(retry), i}
  end
end
for i = 1, n do
  local key = KEYS[i + 2]
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, tonumber(ARGV[1 + 2 * i]))
end
return {1, 0, 0}
"""


@dataclass(frozen=True)
class Reservation:
    allowed: bool
    retry_after: int = 0  # whole seconds, at least 1 when refused
    scope: str = ""  # which window refused: pair, ip or username
    member: str = ""
    keys: tuple[str, ...] = ()


class LoginThrottle:
    def __init__(self, client, prefix: str, pair: Limit, ip: Limit, username: Limit) -> None:
        self.client, self.prefix = client, prefix
        self.pair, self.ip, self.username = pair, ip, username
        self._script = client.register_script(RESERVE)

    def _key(self, *parts: str) -> str:
        return f"{self.prefix}rl:login:" + ":".join(parts)

    def _pair(self, username: str, ip: str | None) -> str:
        return hashlib.sha256(f"{username.lower()}\0{ip or '-'}".encode()).hexdigest()[:32]

    def reserve(self, username: str, ip: str | None, now: float | None = None) -> Reservation:
        """Take one attempt from every window, or none if any is spent."""
        name = username.lower()
        pair = self._pair(name, ip)
        windows = [(self._key("pair", pair), self.pair, "pair")]
        if ip:
            windows.append((self._key("ip", ip), self.ip, "ip"))
        windows.append((self._key("user", name), self.username, "username"))
        now_ms = int((now if now is not None else time.time()) * 1000)
        member = f"{now_ms}-{uuid.uuid4().hex}"
        args: list = [now_ms, member]
        for _, limit, _ in windows:
            args += [limit.seconds * 1000, limit.requests]
        args.append(MAX_PENALTY_MS)
        keys = [self._key("penalty", pair), self._key("level", pair), *(key for key, _, _ in windows)]
        allowed, retry_ms, which = (int(v) for v in self._script(keys=keys, args=args))
        if allowed:
            return Reservation(True, member=member, keys=tuple(key for key, _, _ in windows))
        scope = windows[which - 1][2] if which else "pair"
        return Reservation(False, retry_after=max(1, -(-retry_ms // 1000)), scope=scope)

    def succeeded(self, reservation: Reservation) -> None:
        """A right password: the attempt was not a failure, and the pair's failures are forgiven."""
        pipe = self.client.pipeline()
        for key in reservation.keys[1:]:
            pipe.zrem(key, reservation.member)
        pipe.delete(reservation.keys[0])
        pipe.execute()
