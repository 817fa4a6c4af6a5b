"""The indexing pipeline: convert → clean → split (sentence-aware) → embed → write.

``Indexer.prepare`` runs a Haystack pipeline per content type (converter,
``DocumentCleaner``, ``DocumentSplitter`` with our sentence chunker) and stamps
each chunk with what access and versioning need. Embedding and writing are
separate steps so the job runner can report progress between batches and keep
every CPU-bound step off the eventlet hub.

Usage::

    indexer = Indexer(embedder, store, chunk_words=120, overlap=1)
    chunks = indexer.prepare(data, "text/plain", ChunkMeta(...))
    for batch in batches(chunks, 32): indexer.embed(batch)
    indexer.write(chunks)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from haystack import Document, Pipeline
from haystack.components.converters import (DOCXToDocument, HTMLToDocument, MarkdownToDocument,
                                            PyPDFToDocument, TextFileToDocument)
from haystack.components.preprocessors import DocumentCleaner, DocumentSplitter
from haystack.components.writers import DocumentWriter
from haystack.dataclasses import ByteStream
from haystack.document_stores.types import DuplicatePolicy

from services.rag import text as mime
from services.rag.embedding import Embedder, native_lock
from services.rag.text import sentence_chunks


class IngestionError(Exception):
    """The content cannot become a document (no text, corrupt file); retrying will not help."""


@dataclass(frozen=True)
class ChunkMeta:
    document_id: str
    version: str
    collection_id: str
    owner_id: str
    title: str
    mime_type: str
    user: dict[str, Any] = field(default_factory=dict)


def _converter(mime_type: str):
    return {
        mime.TEXT: lambda: TextFileToDocument(encoding="utf-8"),
        mime.MARKDOWN: lambda: MarkdownToDocument(progress_bar=False, encoding="utf-8"),
        mime.HTML: lambda: HTMLToDocument(),
        mime.PDF: lambda: PyPDFToDocument(),
        mime.DOCX: lambda: DOCXToDocument(),
    }[mime_type]()


def _utf8(data: bytes) -> bytes:
    """Text with a UTF-16 byte-order mark, re-encoded so every converter reads UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16").encode("utf-8")
    return data


class Indexer:
    def __init__(self, embedder: Embedder, store, chunk_words: int = 120, overlap: int = 1) -> None:
        self.embedder, self.store = embedder, store
        self.chunk_words, self.overlap = chunk_words, overlap
        self._pipelines: dict[str, Pipeline] = {}
        self._lock = native_lock()

    def _pipeline(self, mime_type: str) -> Pipeline:
        with self._lock:
            if mime_type not in self._pipelines:
                pipeline = Pipeline()
                pipeline.add_component("convert", _converter(mime_type))
                pipeline.add_component("clean", DocumentCleaner(
                    remove_empty_lines=False, remove_extra_whitespaces=False, unicode_normalization="NFKC",
                    replace_regexes={r"[ \t\u00a0]+": " ", r" *\n *": "\n", r"\n{3,}": "\n\n"}))
                pipeline.add_component("split", DocumentSplitter(
                    split_by="function",
                    splitting_function=partial(sentence_chunks, max_words=self.chunk_words,
                                               overlap_sentences=self.overlap)))
                pipeline.connect("convert.documents", "clean.documents")
                pipeline.connect("clean.documents", "split.documents")
                self._pipelines[mime_type] = pipeline
            return self._pipelines[mime_type]

    def prepare(self, data: bytes, mime_type: str, meta: ChunkMeta) -> list[Document]:
        """Blocking (CPU): the document's chunks, not yet embedded."""
        if mime_type not in mime.SUPPORTED:
            raise IngestionError(f"unsupported content type {mime_type}")
        if mime_type in (mime.TEXT, mime.MARKDOWN, mime.HTML):
            data = _utf8(data)
        try:
            result = self._pipeline(mime_type).run({"convert": {"sources": [ByteStream(data=data)]}})
        except Exception as exc:  # converters raise on some malformed inputs
            raise IngestionError(f"the file could not be read: {type(exc).__name__}") from exc
        splits = [d for d in result["split"]["documents"] if d.content and d.content.strip()]
        if not splits:
            raise IngestionError("no text could be extracted from the file")
        chunks = []
        for index, split in enumerate(splits):
            chunks.append(Document(
                id=f"{meta.document_id}-{meta.version}-{index}",
                content=split.content,
                meta={"document_id": meta.document_id, "version": meta.version,
                      "collection_id": meta.collection_id, "owner_id": meta.owner_id, "title": meta.title,
                      "mime_type": meta.mime_type, "chunk_index": index, "user": dict(meta.user),
                      **({"page_number": split.meta["page_number"]} if "page_number" in split.meta else {})},
            ))
        return chunks

    def embed(self, chunks: list[Document]) -> list[Document]:
        """Blocking (CPU): the chunks with their ``embedding``."""
        return self.embedder.embed_documents(chunks)

    def write(self, chunks: list[Document]) -> None:
        """Blocking (I/O): the chunks into the store, overwriting those of a retried attempt."""
        DocumentWriter(document_store=self.store.haystack, policy=DuplicatePolicy.OVERWRITE).run(documents=chunks)
