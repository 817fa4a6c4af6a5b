"""Ingestion job state in Redis: status, progress, attempts and a lease.

A worker holds a job by a lease it renews while it works (heartbeat). A lease
that runs out means the worker died or hung: ``reap`` turns the job back into
QUEUED (and it is enqueued again) or, after ``max_attempts``, into FAILED with
the reason. Every transition is one Lua script, so two workers or two reapers
never both win; progress and results from a worker that lost its lease are
ignored.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from schema.rag import Job, JobStatus

FINISHED_TTL = 7 * 24 * 3600

_ACQUIRE = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status == 'DONE' or status == 'FAILED' then return 'finished' end
local now = tonumber(ARGV[1])
if status == 'RUNNING' and tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '0') > now then
  return 'busy'
end
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
if attempts >= tonumber(ARGV[4]) then
  local reason = redis.call('HGET', KEYS[1], 'last_error') or 'the worker stopped responding'
  redis.call('HSET', KEYS[1], 'status', 'FAILED', 'updated_at', ARGV[1],
             'error', 'gave up after ' .. attempts .. ' attempts: ' .. reason)
  redis.call('ZREM', KEYS[2], ARGV[5])
  redis.call('EXPIRE', KEYS[1], ARGV[6])
  return 'failed'
end
local lease_until = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'status', 'RUNNING', 'attempts', attempts + 1, 'lease_owner', ARGV[3],
           'lease_until', lease_until, 'updated_at', ARGV[1])
redis.call('ZADD', KEYS[2], lease_until, ARGV[5])
return 'acquired'
"""

_HEARTBEAT = """
if redis.call('HGET', KEYS[1], 'lease_owner') ~= ARGV[3] or redis.call('HGET', KEYS[1], 'status') ~= 'RUNNING' then
  return 0
end
local lease_until = tonumber(ARGV[1]) + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'lease_until', lease_until)
redis.call('ZADD', KEYS[2], lease_until, ARGV[4])
return 1
"""

_UPDATE_IF_OWNER = """
if redis.call('HGET', KEYS[1], 'lease_owner') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'status') ~= 'RUNNING' then
  return 0
end
for i = 3, #ARGV - 1, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
if ARGV[2] == 'finish' then
  redis.call('HDEL', KEYS[1], 'lease_owner', 'lease_until')
  redis.call('ZREM', KEYS[2], KEYS[3])
  redis.call('EXPIRE', KEYS[1], ARGV[#ARGV])
end
return 1
"""

_REAP = """
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'RUNNING' then redis.call('ZREM', KEYS[2], ARGV[2]); return 'gone' end
local lease_until = tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '0')
if lease_until > tonumber(ARGV[1]) then redis.call('ZADD', KEYS[2], lease_until, ARGV[2]); return 'alive' end
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[1], 'lease_owner', 'lease_until')
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
if attempts >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'status', 'FAILED', 'updated_at', ARGV[1],
             'error', 'gave up after ' .. attempts .. ' attempts: the worker stopped responding')
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  return 'failed'
end
redis.call('HSET', KEYS[1], 'status', 'QUEUED', 'progress', '0', 'updated_at', ARGV[1],
           'last_error', 'the worker stopped responding')
return 'requeued'
"""


@dataclass(frozen=True)
class Lease:
    job_id: str
    token: str
    spec: dict[str, Any]


class JobBoard:
    def __init__(self, redis_client, prefix: str, lease_seconds: float = 30.0, max_attempts: int = 3,
                 clock=time.time) -> None:
        self.redis, self.prefix = redis_client, prefix
        self.lease_seconds, self.max_attempts, self.clock = lease_seconds, max_attempts, clock
        self._acquire = redis_client.register_script(_ACQUIRE)
        self._heartbeat = redis_client.register_script(_HEARTBEAT)
        self._update = redis_client.register_script(_UPDATE_IF_OWNER)
        self._reap = redis_client.register_script(_REAP)

    def key(self, job_id: str) -> str:
        return f"{self.prefix}rag:job:{job_id}"

    @property
    def leases_key(self) -> str:
        return f"{self.prefix}rag:job-leases"

    # ------------------------------------------------------------ submission side

    def create(self, spec: dict[str, Any], *, status: JobStatus = JobStatus.QUEUED, **fields: Any) -> str:
        job_id = uuid.uuid4().hex
        now = self.clock()
        mapping = {"status": status.value, "progress": "1" if status is JobStatus.DONE else "0",
                   "attempts": "0", "spec": json.dumps(spec), "created_at": now, "updated_at": now,
                   **{k: ("" if v is None else v) for k, v in fields.items()}}
        pipe = self.redis.pipeline()
        pipe.hset(self.key(job_id), mapping=mapping)
        if status in (JobStatus.DONE, JobStatus.FAILED):
            pipe.expire(self.key(job_id), FINISHED_TTL)
        pipe.execute()
        return job_id

    def get(self, job_id: str) -> tuple[Job, dict[str, Any]] | None:
        """The job and its spec (owner, document...), or None."""
        raw = self.redis.hgetall(self.key(job_id))
        if not raw:
            return None
        data = {k.decode(): v.decode() for k, v in raw.items()}
        spec = json.loads(data.get("spec") or "{}")
        job = Job(id=job_id, status=JobStatus(data["status"]), progress=float(data.get("progress") or 0),
                  document_id=data.get("document_id") or spec.get("document_id"),
                  chunk_count=int(data["chunk_count"]) if data.get("chunk_count") else None,
                  error=data.get("error") or None, attempts=int(data.get("attempts") or 0),
                  filename=spec.get("title"))
        return job, spec

    def inflight(self, identity_key: str, job_id: str | None = None) -> str | None:
        """The job already working on this exact content, else claims the slot for ``job_id``."""
        key = f"{self.prefix}rag:inflight:{identity_key}"
        if job_id is None:
            value = self.redis.get(key)
            return value.decode() if value else None
        if self.redis.set(key, job_id, nx=True, ex=24 * 3600):
            return None
        existing = self.redis.get(key)
        return existing.decode() if existing else None

    def release_inflight(self, identity_key: str) -> None:
        self.redis.delete(f"{self.prefix}rag:inflight:{identity_key}")

    # ------------------------------------------------------------ worker side

    def acquire(self, job_id: str) -> tuple[str, Lease | None]:
        """('acquired', lease) or (why not, None): missing, finished, busy, failed."""
        token = uuid.uuid4().hex
        outcome = self._acquire(keys=[self.key(job_id), self.leases_key],
                                args=[self.clock(), self.lease_seconds, token, self.max_attempts, job_id,
                                      FINISHED_TTL]).decode()
        if outcome != "acquired":
            return outcome, None
        found = self.get(job_id)
        return outcome, Lease(job_id, token, found[1] if found else {})

    def heartbeat(self, lease: Lease) -> bool:
        return bool(self._heartbeat(keys=[self.key(lease.job_id), self.leases_key],
                                    args=[self.clock(), self.lease_seconds, lease.token, lease.job_id]))

    def progress(self, lease: Lease, progress: float) -> bool:
        return self._set(lease, "progress", progress=round(min(max(progress, 0.0), 0.99), 3))

    def done(self, lease: Lease, document_id: str, chunk_count: int) -> bool:
        return self._set(lease, "finish", status="DONE", progress=1, document_id=document_id,
                         chunk_count=chunk_count, error="", updated_at=self.clock())

    def failed(self, lease: Lease, error: str) -> bool:
        return self._set(lease, "finish", status="FAILED", error=error[:500], updated_at=self.clock())

    def retry_later(self, lease: Lease, error: str) -> bool:
        """A transient failure: back to QUEUED (the caller enqueues it again) unless out of attempts."""
        found = self.get(lease.job_id)
        if found and found[0].attempts >= self.max_attempts:
            return not self.failed(lease, f"gave up after {found[0].attempts} attempts: {error}")
        updated = self._set(lease, "requeue", status="QUEUED", progress=0, last_error=error[:300],
                            lease_owner="", lease_until=0)
        self.redis.zrem(self.leases_key, lease.job_id)
        return updated

    def _set(self, lease: Lease, mode: str, **fields: Any) -> bool:
        args: list[Any] = [lease.token, mode]
        for name, value in fields.items():
            args += [name, value]
        args.append(FINISHED_TTL)
        return bool(self._update(keys=[self.key(lease.job_id), self.leases_key, lease.job_id], args=args))

    def reap(self) -> list[str]:
        """Jobs whose lease ran out, made QUEUED again (returned: enqueue them) or FAILED."""
        now = self.clock()
        requeued = []
        for raw in self.redis.zrangebyscore(self.leases_key, "-inf", now, start=0, num=100):
            job_id = raw.decode()
            outcome = self._reap(keys=[self.key(job_id), self.leases_key],
                                 args=[now, job_id, self.max_attempts, FINISHED_TTL]).decode()
            if outcome == "requeued":
                requeued.append(job_id)
        return requeued
