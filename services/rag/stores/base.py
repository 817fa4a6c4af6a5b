"""The contract every chunk store keeps; ``tests/rag/test_store_contract.py`` checks it.

A chunk is a Haystack ``Document`` whose meta carries ``document_id``,
``version``, ``collection_id``, ``owner_id``, ``title`` and the document's own
metadata under ``user``. Retrieval is done by Haystack retriever components the
store hands out, so the hybrid pipeline is the same for every store; access
filters are passed to those retrievers and applied inside the store's query.
"""

from __future__ import annotations

from typing import Any, Protocol

from haystack import Document


class ChunkStore(Protocol):
    kind: str

    def write(self, chunks: list[Document]) -> None:
        """Insert or overwrite chunks (ids are deterministic, so a retried job rewrites the same ones)."""

    def remove_stale(self, document_id: str, version: str) -> None:
        """Delete the document's chunks of every version but ``version``."""

    def delete_document(self, document_id: str) -> None: ...

    def delete_chunks(self, chunk_ids: list[str]) -> None:
        """Delete these chunks (an abandoned attempt's, never made current)."""

    def count(self, filters: dict[str, Any] | None = None) -> int: ...

    def bm25_retriever(self, top_k: int) -> Any:
        """A Haystack component: ``run(query, filters, top_k) -> {"documents": [...]}``."""

    def embedding_retriever(self, top_k: int) -> Any:
        """A Haystack component: ``run(query_embedding, filters, top_k) -> {"documents": [...]}``."""

    def cosine(self, score: float) -> float:
        """The cosine similarity behind an embedding retriever's score."""

    def check(self) -> str: ...

    def close(self) -> None: ...


def version_filter(document_id: str, version: str, operator: str = "==") -> dict[str, Any]:
    """The chunks of ``document_id`` whose version is (``==``) or is not (``!=``) ``version``."""
    return {
        "operator": "AND",
        "conditions": [
            {"field": "meta.document_id", "operator": "==", "value": document_id},
            {"field": "meta.version", "operator": operator, "value": version},
        ],
    }


def stale_filter(document_id: str, version: str) -> dict[str, Any]:
    return version_filter(document_id, version, "!=")


def document_filter(document_id: str) -> dict[str, Any]:
    return {"field": "meta.document_id", "operator": "==", "value": document_id}
