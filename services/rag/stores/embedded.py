"""The embedded store: durable (SQLite) and fast (a vectorised in-memory index).

Why not Haystack's ``InMemoryDocumentStore.save_to_disk``: it rewrites one JSON
file of every chunk on each change, and its filters and BM25 run document by
document in Python. Here each write is a SQLite transaction of just the changed
chunks (embeddings as float32 blobs), the index (``ChunkIndex``) is rebuilt from
the file at start, and retrieval is vectorised with the access filter applied
before ranking. One native lock orders writes and reads, so a reader sees a
replacement entirely or not at all. One rag instance per data directory (a file
lock stops a second one at start).
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from haystack import Document
from haystack.components.retrievers.in_memory import InMemoryBM25Retriever, InMemoryEmbeddingRetriever
from haystack.document_stores.in_memory import InMemoryDocumentStore
from haystack.document_stores.in_memory.document_store import BM25_SCALING_FACTOR
from haystack.document_stores.types import DuplicatePolicy
from haystack.utils import expit

from services.rag.embedding import DIMENSIONS, native_lock
from services.rag.stores.base import document_filter, stale_filter
from services.rag.stores.index import ChunkIndex

SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    content TEXT NOT NULL,
    meta TEXT NOT NULL,
    embedding BLOB
);
CREATE INDEX IF NOT EXISTS chunks_document ON chunks(document_id);
"""


class PersistentInMemoryDocumentStore(InMemoryDocumentStore):
    """An ``InMemoryDocumentStore`` (so Haystack's in-memory retrievers accept it) whose
    chunks live in a vectorised ``ChunkIndex`` and, durably, in SQLite; one native
    lock orders writes and reads."""

    def __init__(self, path: Path, **kwargs: Any) -> None:
        super().__init__(shared=False, return_embedding=False, embedding_similarity_function="dot_product",
                         **kwargs)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = native_lock()
        self._claim()
        self.index = ChunkIndex(self._tokenize_bm25, DIMENSIONS)
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self._load()

    def _claim(self) -> None:
        """One process per store file: a second rag instance on this data directory stops at start."""
        self._lockfile = open(self.path.with_suffix(".lock"), "a+")
        try:
            fcntl.flock(self._lockfile, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lockfile.close()
            raise SystemExit(f"{self.path} is in use by another rag instance: the embedded store serves one "
                             "instance; set AGENTHUB_DOCUMENT_STORE=elasticsearch to run several.") from None

    def _load(self) -> None:
        batch: list[Document] = []
        for chunk_id, content, meta, embedding in self.db.execute(
                "SELECT id, content, meta, embedding FROM chunks"):
            vector = np.frombuffer(embedding, dtype=np.float32).tolist() if embedding else None
            batch.append(Document(id=chunk_id, content=content, meta=json.loads(meta), embedding=vector))
            if len(batch) >= 5000:
                self.index.add(batch)
                batch = []
        self.index.add(batch)

    def _transaction(self, statement: str, rows: list[tuple]) -> None:
        self.db.execute("BEGIN")
        try:
            self.db.executemany(statement, rows)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def write_documents(self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.OVERWRITE) -> int:
        rows = [(d.id, d.meta.get("document_id", ""), d.content or "", json.dumps(d.meta),
                 np.asarray(d.embedding, dtype=np.float32).tobytes() if d.embedding is not None else None)
                for d in documents]
        with self.lock:
            self._transaction("INSERT OR REPLACE INTO chunks VALUES (?, ?, ?, ?, ?)", rows)
            self.index.add(documents)
        return len(documents)

    def delete_documents(self, document_ids: list[str]) -> None:
        with self.lock:
            self._transaction("DELETE FROM chunks WHERE id = ?", [(i,) for i in document_ids])
            self.index.remove(document_ids)

    def delete_by_filter(self, filters: dict[str, Any]) -> int:
        with self.lock:
            ids = [d.id for d in self.filter_documents(filters)]
            if ids:
                self.delete_documents(ids)
            return len(ids)

    def count_documents(self) -> int:
        return self.index.count

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        with self.lock:
            return [self.index.documents[int(row)] for row in np.flatnonzero(self.index.mask(filters))]

    @staticmethod
    def _scored(pairs, scale: bool, bm25: bool) -> list[Document]:
        documents = []
        for document, score in pairs:
            if scale:
                score = float(expit(score / BM25_SCALING_FACTOR)) if bm25 else (score + 1) / 2
            documents.append(replace(document, score=score, embedding=None))
        return documents

    def bm25_retrieval(self, query: str, filters: dict[str, Any] | None = None, top_k: int = 10,
                       scale_score: bool = False) -> list[Document]:
        with self.lock:
            return self._scored(self.index.bm25(query, filters, top_k), scale_score, bm25=True)

    def embedding_retrieval(self, query_embedding: list[float], filters: dict[str, Any] | None = None,
                            top_k: int = 10, scale_score: bool = False, return_embedding: bool | None = False
                            ) -> list[Document]:
        with self.lock:
            return self._scored(self.index.dense(query_embedding, filters, top_k), scale_score, bm25=False)

    def close(self) -> None:
        with self.lock:
            self.db.close()
            self._lockfile.close()  # releases the flock


class EmbeddedStore:
    """``ChunkStore`` over ``PersistentInMemoryDocumentStore``. Calls block: run them offloaded."""

    kind = "embedded"

    def __init__(self, path: Path) -> None:
        self.haystack = PersistentInMemoryDocumentStore(path)

    def write(self, chunks: list[Document]) -> None:
        self.haystack.write_documents(chunks)

    def remove_stale(self, document_id: str, version: str) -> None:
        self.haystack.delete_by_filter(stale_filter(document_id, version))

    def delete_document(self, document_id: str) -> None:
        self.haystack.delete_by_filter(document_filter(document_id))

    def count(self, filters: dict[str, Any] | None = None) -> int:
        if filters is None:
            return self.haystack.count_documents()
        with self.haystack.lock:
            return int(self.haystack.index.mask(filters).sum())

    def bm25_retriever(self, top_k: int) -> InMemoryBM25Retriever:
        return InMemoryBM25Retriever(document_store=self.haystack, top_k=top_k)

    def embedding_retriever(self, top_k: int) -> InMemoryEmbeddingRetriever:
        return InMemoryEmbeddingRetriever(document_store=self.haystack, top_k=top_k)

    def cosine(self, score: float) -> float:
        return float(score)  # dot product of normalised vectors

    def check(self) -> str:
        return f"{self.haystack.count_documents()} chunks in {self.haystack.path.name}"

    def close(self) -> None:
        self.haystack.close()
