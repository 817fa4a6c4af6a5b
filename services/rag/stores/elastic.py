"""The Elasticsearch store, through ``elasticsearch-haystack``: BM25 and kNN both run in the
cluster, with the access filter inside each query; several rag instances may share it.

Replacement is made atomic by the catalog, not by the index: new chunks are
written under a new ``meta.version``, the catalog flips the current version,
and only then are the old chunks deleted (searches drop non-current versions).
"""

from __future__ import annotations

from typing import Any

from haystack import Document
from haystack.document_stores.types import DuplicatePolicy
from haystack_integrations.components.retrievers.elasticsearch import (
    ElasticsearchBM25Retriever,
    ElasticsearchEmbeddingRetriever,
)
from haystack_integrations.document_stores.elasticsearch import ElasticsearchDocumentStore

from services.rag.embedding import DIMENSIONS
from services.rag.stores.base import document_filter, stale_filter

# elasticsearch-haystack stores a Document's meta flattened into the source (``meta.owner_id`` is the
# field ``owner_id``; filters drop the ``meta.`` prefix), so the system fields are top-level keywords
# and the documents' own metadata is the object ``user``.
MAPPING: dict[str, Any] = {
    "properties": {
        "content": {"type": "text"},
        "embedding": {"type": "dense_vector", "dims": DIMENSIONS, "index": True, "similarity": "cosine"},
        "document_id": {"type": "keyword"},
        "version": {"type": "keyword"},
        "collection_id": {"type": "keyword"},
        "owner_id": {"type": "keyword"},
        "title": {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 300}}},
        "user": {"type": "object", "dynamic": True},
    },
    # every other string (mime_type, the documents' own metadata) is an exact-match keyword, as in
    # the embedded store's filters
    "dynamic_templates": [
        {"strings": {"path_match": "*", "match_mapping_type": "string", "mapping": {"type": "keyword"}}}
    ],
}


class ElasticStore:
    """``ChunkStore`` over ``ElasticsearchDocumentStore``. The client connects on first use."""

    kind = "elasticsearch"

    def __init__(self, url: str, index: str = "agenthub-chunks") -> None:
        self.haystack = ElasticsearchDocumentStore(
            hosts=url, index=index, custom_mapping=MAPPING, embedding_similarity_function="cosine"
        )

    def write(self, chunks: list[Document]) -> None:
        self.haystack.write_documents(chunks, policy=DuplicatePolicy.OVERWRITE, refresh="wait_for")

    def remove_stale(self, document_id: str, version: str) -> None:
        self.haystack.delete_by_filter(stale_filter(document_id, version), refresh=True)

    def delete_document(self, document_id: str) -> None:
        self.haystack.delete_by_filter(document_filter(document_id), refresh=True)

    def delete_chunks(self, chunk_ids: list[str]) -> None:
        if chunk_ids:
            self.haystack.delete_documents(chunk_ids, refresh=True)

    def count(self, filters: dict[str, Any] | None = None) -> int:
        if filters is None:
            return self.haystack.count_documents()
        return self.haystack.count_documents_by_filter(filters)

    def bm25_retriever(self, top_k: int) -> ElasticsearchBM25Retriever:
        return ElasticsearchBM25Retriever(document_store=self.haystack, top_k=top_k, fuzziness="0")

    def embedding_retriever(self, top_k: int) -> ElasticsearchEmbeddingRetriever:
        return ElasticsearchEmbeddingRetriever(document_store=self.haystack, top_k=top_k)

    def cosine(self, score: float) -> float:
        return 2.0 * float(score) - 1.0  # Elasticsearch scores cosine as (1 + cos) / 2

    def check(self) -> str:
        return f"{self.haystack.count_documents()} chunks in index"

    def close(self) -> None:
        self.haystack.close()
