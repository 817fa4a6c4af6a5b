"""The indexing pipeline: convert → clean → split (sentence-aware) → embed → write.

``Indexer.prepare_file`` has ``services/rag/convert.py`` run the Haystack
converter, ``DocumentCleaner`` and ``DocumentSplitter`` (our sentence chunker)
in a limited child process, and stamps each chunk with what access and
versioning need. Embedding and writing are
separate steps so the job runner can report progress between batches and keep
every CPU-bound step off the eventlet hub.

Usage::

    indexer = Indexer(embedder, store, chunk_words=120, overlap=1)
    chunks = indexer.prepare_file(path, "text/plain", ChunkMeta(...))
    for batch in batches(chunks, 32): indexer.embed(batch)
    indexer.write(chunks)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from haystack import Document

from services.rag.convert import ConversionRefused, ConversionStopped, Limits, extract_chunks, split_file
from services.rag.embedding import Embedder

__all__ = ["ChunkMeta", "ConversionStopped", "Indexer", "IngestionError", "Limits"]


class IngestionError(Exception):
    """The content cannot become a document (no text, corrupt file, a limit); retrying will not help."""

    def __init__(self, message: str, code: str = "INGESTION_FAILED") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ChunkMeta:
    document_id: str
    version: str
    collection_id: str
    owner_id: str
    title: str
    mime_type: str
    user: dict[str, Any] = field(default_factory=dict)


class Indexer:
    def __init__(
        self, embedder: Embedder, store, chunk_words: int = 120, overlap: int = 1, limits: Limits | None = None
    ) -> None:
        self.embedder, self.store = embedder, store
        self.chunk_words, self.overlap = chunk_words, overlap
        self.limits = limits or Limits()

    def prepare(self, data: bytes, mime_type: str, meta: ChunkMeta) -> list[Document]:
        """Blocking (CPU), in this process: the chunks of trusted bytes (benchmarks, scripts)."""
        try:
            raw = extract_chunks(data, mime_type, self.limits, self.chunk_words, self.overlap)
        except ConversionRefused as refused:
            raise IngestionError(str(refused), refused.code) from None
        return self._documents(raw, meta)

    def prepare_file(
        self, path: Path, mime_type: str, meta: ChunkMeta, should_stop: Callable[[], bool] = lambda: False
    ) -> list[Document]:
        """An uploaded (untrusted) file's chunks, not yet embedded; parsed in a limited child process
        (``services/rag/convert.py``). Call on the hub; raises ``ConversionStopped`` when told to stop."""
        try:
            raw = split_file(
                path,
                mime_type,
                self.limits,
                chunk_words=self.chunk_words,
                overlap=self.overlap,
                should_stop=should_stop,
            )
        except ConversionRefused as refused:
            raise IngestionError(str(refused), refused.code) from None
        return self._documents(raw, meta)

    @staticmethod
    def _documents(raw: list[dict[str, Any]], meta: ChunkMeta) -> list[Document]:
        return [
            Document(
                id=f"{meta.document_id}-{meta.version}-{index}",
                content=chunk["content"],
                meta={
                    "document_id": meta.document_id,
                    "version": meta.version,
                    "collection_id": meta.collection_id,
                    "owner_id": meta.owner_id,
                    "title": meta.title,
                    "mime_type": meta.mime_type,
                    "chunk_index": index,
                    "user": dict(meta.user),
                    **({"page_number": chunk["page_number"]} if "page_number" in chunk else {}),
                },
            )
            for index, chunk in enumerate(raw)
        ]

    def embed(self, chunks: list[Document]) -> list[Document]:
        """Blocking (CPU): the chunks with their ``embedding``."""
        return self.embedder.embed_documents(chunks)

    def write(self, chunks: list[Document]) -> None:
        """Blocking (I/O): the chunks into the store, overwriting those of a retried attempt."""
        self.store.write(chunks)
