"""Where the rag service keeps its documents."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir_check(data_dir: Path):
    def check() -> str:
        store = Path(data_dir) / "rag"
        store.mkdir(parents=True, exist_ok=True)
        if not os.access(store, os.W_OK):
            raise PermissionError(f"{store} is not writable")
        return str(store)
    return check
