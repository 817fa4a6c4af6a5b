"""Staged uploads and kept originals under the data directory, named by ids only.

Submission stages a job's bytes; the worker reads them, keeps the original
(a hard link) when the document becomes current, and unstages them when the
job ends; reads serve the original to ``download``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from services.rag.ingestion import IngestionError


class Files:
    def __init__(self, root: Path) -> None:
        self.staging, self.originals = root / "staging", root / "originals"
        self.staging.mkdir(parents=True, exist_ok=True)
        self.originals.mkdir(parents=True, exist_ok=True)

    def stage(self, job_id: str, data: bytes) -> None:
        temporary = self.staging / f".{job_id}.part"
        temporary.write_bytes(data)
        os.replace(temporary, self.staging / job_id)

    def staged_path(self, job_id: str) -> Path:
        path = self.staging / job_id
        if not path.exists():
            raise IngestionError("the uploaded content is no longer available", "CONTENT_GONE")
        return path

    def unstage(self, job_id: str) -> None:
        (self.staging / job_id).unlink(missing_ok=True)

    def staged_ids(self, older_than: float) -> list[str]:
        """Jobs with a staged file (or a leftover partial write) older than ``older_than`` seconds."""
        cutoff, ids = time.time() - older_than, []
        for path in self.staging.iterdir():
            try:
                if path.stat().st_mtime < cutoff:
                    if path.name.startswith("."):
                        path.unlink(missing_ok=True)  # a write that never finished
                    else:
                        ids.append(path.name)
            except FileNotFoundError:
                continue
        return ids[:1000]

    def keep(self, job_id: str, name: str) -> str:
        target = self.originals / name
        if not target.exists():
            os.link(self.staging / job_id, target)
        return name

    def original(self, name: str) -> bytes:
        return (self.originals / name).read_bytes()

    def forget(self, name: str | None) -> None:
        if name:
            (self.originals / name).unlink(missing_ok=True)
