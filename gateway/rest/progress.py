"""Upload progress sessions of ``upload_with_progress``, kept in Redis.

A session stores only who owns it and which ingestion job each file became;
progress is read from the jobs themselves (``rag.job``, as the caller) each
time it is asked for. So nothing runs in the gateway between polls, a gateway
restart loses nothing, and any gateway instance answers. A session belongs to
the user who started it (an API key acts for its owner); anyone else, and an
unknown or expired id, gets the same 404.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

SESSION_TTL = 24 * 3600  # seconds a session can be polled after it started


@dataclass
class TrackedFile:
    name: str  # unique within the session: "report.pdf", "report.pdf (2)"
    job_id: str | None  # None when the file was refused before it became a job
    error: str | None = None


@dataclass
class UploadSession:
    owner: str
    files: list[TrackedFile]


def unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique


class ProgressStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis, self.prefix = redis, prefix

    def _key(self, session_id: str) -> str:
        return f"{self.prefix}rest:upload:{session_id}"

    async def create(self, session: UploadSession) -> str:
        session_id = secrets.token_hex(16)
        payload = {"owner": session.owner, "files": [asdict(f) for f in session.files]}
        await self.redis.set(self._key(session_id), json.dumps(payload), ex=SESSION_TTL)
        return session_id

    async def get(self, session_id: str, owner: str) -> UploadSession | None:
        """The session if it exists and belongs to ``owner``; None otherwise (the caller answers 404)."""
        if not isinstance(session_id, str) or not 1 <= len(session_id) <= 64 or not session_id.isalnum():
            return None
        raw = await self.redis.get(self._key(session_id))
        if raw is None:
            return None
        data = json.loads(raw)
        if data.get("owner") != owner:
            return None
        return UploadSession(owner=data["owner"], files=[TrackedFile(**f) for f in data["files"]])
