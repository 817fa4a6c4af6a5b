"""The embedding model (all-MiniLM-L6-v2 on ONNX Runtime, int8) and how CPU work leaves the hub.

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
import logging
import os
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
from eventlet import patcher

from core.offload import offload, offloading

DIMENSIONS = 384


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


class Embedder:
    """all-MiniLM-L6-v2 through ONNX Runtime (int8, exported at install: ``onnx_export``), with
    the model's own tokenizer from ``tokenizers``; no PyTorch in this process.

    ``threads`` cores (0: every core this process may run on) embed ``lanes`` batches at once,
    each batch on ``threads // lanes`` of them; by default one lane per core, each batch on one
    thread. Independent single-threaded runs side by side lose less when other work (conversion,
    the store, the hub, the gateway, the broker) takes a core for a moment than one run whose
    threads wait for each other at every operator. ``embed_documents`` may be called from up to
    ``lanes`` native threads at once (more wait), so two jobs never fight over the cores.

    Queries are single-threaded too: a query of a few tokens costs less CPU and less time on one
    thread than on two (1.5 against 2.0 ms of CPU, and 1.5 against 3.1 ms on a busy 2-core
    machine: the second thread mostly waits for the first), and it never waits for an ingestion
    batch. ONNX Runtime runs one session from several threads at once, so with single-threaded
    lanes the batches and the queries share one session (one copy of the model); otherwise queries
    have a single-threaded session of their own (about 50 MB more).

    Usage::

        embedder = Embedder(); embedder.warm_up()
        vector = embedder.embed_query("what is a lease?")
    """

    def __init__(
        self, batch_size: int = 16, model_dir: str | Path | None = None, threads: int = 0, lanes: int = 0
    ) -> None:
        self.batch_size = batch_size
        self.model_dir = Path(model_dir) if model_dir else None
        self.threads = threads or available_cores()
        self.lanes = max(1, min(lanes or self.threads, self.threads))
        self._session: Any = None  # onnxruntime.InferenceSession once loaded (onnxruntime has no types)
        self._query_session: Any = None  # the same model on one thread, for queries
        self._tokenizer: Any = None  # tokenizers.Tokenizer once loaded
        self._free = patcher.original("threading").BoundedSemaphore(self.lanes)  # native: offloaded callers
        self._query_lock = native_lock()
        self.model_id = "sentence-transformers/all-MiniLM-L6-v2"

    def warm_up(self) -> None:
        from tokenizers import Tokenizer

        from services.rag.native import onnxruntime as ort
        from services.rag.onnx_export import MANIFEST_FILE, MODEL_FILE, TOKENIZER_FILE

        directory = ensure_exported(self.model_dir)
        manifest = json.loads((directory / MANIFEST_FILE).read_text())
        self.model_id = f"{manifest['model']}@onnx-int8-{manifest['format']}"
        tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        tokenizer.enable_truncation(manifest["max_tokens"])
        tokenizer.no_padding()

        def session(threads: int) -> Any:
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            # Threads sleep instead of spinning between batches: on a shared 2-core machine the
            # spinning steals the cores that conversion and the hub need meanwhile.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            return ort.InferenceSession(str(directory / MODEL_FILE), options, providers=["CPUExecutionProvider"])

        per_batch = self.threads // self.lanes
        self._session = session(per_batch)
        self._query_session = self._session if per_batch == 1 else session(1)
        self._tokenizer = tokenizer
        self._embed(["warm up"])
        self.embed_query("warm up")

    def _embed(self, texts: list[str], session: Any = None) -> np.ndarray:
        """Normalised vectors of ``texts`` (in order) on ``session`` (the batch session by default);
        batches of similar length, so little padding (none for one text)."""
        session = session or self._session
        encodings = self._tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for n, i in enumerate(rows):
                tokens = encodings[i].ids
                ids[n, : len(tokens)] = tokens
                mask[n, : len(tokens)] = 1
            vectors[rows] = session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
        return vectors

    def embed_documents(self, documents: list) -> list:
        """Blocking: call through ``offload``. Copies of ``documents`` with their ``embedding``."""
        with self._free:
            vectors = self._embed([d.content or "" for d in documents])
        return [replace(d, embedding=v.tolist()) for d, v in zip(documents, vectors)]

    def embed_query(self, text: str) -> list[float]:
        """Blocking: call through ``offload``. One text, unpadded, on the query session."""
        with self._query_lock:
            vector: list[float] = self._embed([text], self._query_session)[0].tolist()
        return vector


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def ensure_exported(directory: Path | None = None) -> Path:
    """The export directory; exported first, in a child process, when missing or stale.

    A child process, because the export imports PyTorch (hundreds of MB that would
    otherwise stay in this process). ``make install`` and the image export ahead of time.
    """
    import subprocess
    import sys

    from services.rag.onnx_export import default_dir, is_current

    directory = Path(directory or default_dir())
    if is_current(directory):
        return directory
    command = [sys.executable, "-m", "agenthub", "export-embedder", "--output", str(directory)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if done.returncode != 0 or not is_current(directory):
        raise RuntimeError(f"exporting the embedding model to {directory} failed: {done.stderr.strip()[-2000:]}")
    return directory


class QueryEmbeddings:
    """Query embeddings cached in this process (LRU) and, when given a Redis client (a shared
    store, several rag instances), in Redis: a vector depends only on the model and the text.

    A search asks ``cached`` on the hub (the LRU, then one Redis GET), computes a miss in the
    native thread that also retrieves (``compute``), then ``remember``s it: the Redis SET is sent
    from a green thread of its own, so the search does not wait for it.
    """

    LOCAL_SIZE = 2048  # vectors kept in this process: 2048 × 384 floats, about 3 MB

    def __init__(self, embedder: Embedder, redis_client, prefix: str, ttl: int) -> None:
        self.embedder, self.redis, self.prefix, self.ttl = embedder, redis_client, prefix, ttl
        self._local: OrderedDict[str, list[float]] = OrderedDict()

    def _key(self, text: str) -> str:
        digest = hashlib.sha256(f"{self.embedder.model_id}\x00{text}".encode()).hexdigest()
        return f"{self.prefix}rag:qemb32:{digest}"  # the vector's float32 bytes

    def cached(self, text: str) -> list[float] | None:
        """Greened I/O: call on the hub, not offloaded."""
        if not self.ttl:
            return None
        vector = self._local.get(text)
        if vector is not None:
            self._local.move_to_end(text)
            return vector
        if self.redis is not None:
            raw = self.redis.get(self._key(text))
            if raw and len(raw) == DIMENSIONS * 4:
                vector = np.frombuffer(raw, dtype=np.float32).tolist()
                self._keep(text, vector)
                return vector
        return None

    def compute(self, text: str) -> list[float]:
        """Blocking: call through ``offload``."""
        return self.embedder.embed_query(text)

    def remember(self, text: str, vector: list[float]) -> None:
        if not self.ttl:
            return
        self._keep(text, vector)
        if self.redis is not None:
            _in_background(self._store, self._key(text), vector)

    def _keep(self, text: str, vector: list[float]) -> None:
        self._local[text] = vector
        self._local.move_to_end(text)
        while len(self._local) > self.LOCAL_SIZE:
            self._local.popitem(last=False)

    def _store(self, key: str, vector: list[float]) -> None:
        self.redis.set(key, np.asarray(vector, dtype=np.float32).tobytes(), ex=self.ttl)

    def __call__(self, text: str) -> list[float]:
        vector = self.cached(text)
        if vector is None:
            vector = offload(self.compute, text)
            self.remember(text, vector)
        return vector


def _in_background(fn, *args) -> None:
    """Under eventlet, in a green thread of its own (failures logged, not raised); else now."""
    if not offloading():
        fn(*args)
        return
    import eventlet

    def run() -> None:
        try:
            fn(*args)
        except Exception as error:  # a cache write that failed costs a later recomputation, nothing else
            logging.getLogger("agenthub.rag").warning("query embedding not cached: %s: %s", type(error).__name__, error)

    eventlet.spawn_n(run)
