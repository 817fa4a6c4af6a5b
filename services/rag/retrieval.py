"""Hybrid retrieval: BM25 and dense retrieval fused by reciprocal rank fusion
(Haystack's ``DocumentJoiner`` arithmetic), with the caller's access filter inside both queries.

Only chunks of the catalog's current version of a document are returned:
that is what hides a half-finished replacement or a just-deleted document on
every store. Candidates are over-fetched to make up for the ones dropped.

Why the retrievers and the joiner are called directly, not through a Haystack
``Pipeline``: the pipeline deep-copies every component's inputs and outputs
(the query vector, each retrieved ``Document`` with its metadata), which cost
as much CPU as both engines together at 50k chunks (``bench/README.md``).
The fusion is the joiner's reciprocal rank fusion with the same inputs in the same order,
written out so that only the kept candidates are copied (``reciprocal_rank_fusion``; a test holds
it to the joiner), and the retriever components are made once.
Embedding the query and both retrievals run in one ``offload``: each hand-off
to a native thread and back costs a thread wake-up, milliseconds on a busy
machine.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from haystack import Document

from core import metrics
from core.offload import offload
from schema.rag import SearchMode
from services.rag.access import Scope, collections_filter, combine, metadata_filter

OVERFETCH = 2


@dataclass
class Hit:
    chunk_id: str
    document_id: str
    title: str
    content: str
    score: float
    similarity: float | None  # cosine to the query, when the dense retriever found it


def reciprocal_rank_fusion(ranked: list[list[Document]], top_k: int) -> list[Document]:
    """Haystack's ``DocumentJoiner(join_mode="reciprocal_rank_fusion")`` on ``ranked`` with
    ``top_k``: the same scores (same arithmetic), the same order (a stable sort on the order the ids
    were first seen), copies with the fused score; but only the ``top_k`` kept are copied, where the
    joiner copies every candidate (a Haystack ``Document`` is slow to make: it tracks mutation)."""
    if not ranked:
        return []
    k, lists = 61, len(ranked)
    weight = 1 / lists
    scores: dict[str, float] = defaultdict(int)
    documents: dict[str, Document] = {}
    for found in ranked:
        for rank, document in enumerate(found):
            scores[document.id] += (weight * lists) / (k + rank)
            documents[document.id] = document
    for chunk_id in scores:
        scores[chunk_id] /= lists / k
    kept = sorted(documents.values(), key=lambda d: scores[d.id], reverse=True)[:top_k]
    return [replace(document, score=scores[document.id]) for document in kept]


class Retriever:
    def __init__(self, store, query_embeddings, catalog) -> None:
        self.store, self.query_embeddings, self.catalog = store, query_embeddings, catalog
        # made once: a Haystack component checks its run() signature each time one is made
        # (get_type_hints, inspect.signature), which cost more than BM25 itself; top_k goes to run()
        self._keyword = store.bm25_retriever(10)
        self._dense = store.embedding_retriever(10)

    def _retrieve(
        self,
        query: str,
        embedding: list[float] | np.ndarray | None,
        filters: dict[str, Any] | None,
        top_k: int,
        mode: SearchMode,
    ) -> tuple[list[Document], dict[str, float]]:
        """Blocking (CPU or store I/O): ranked chunks and each dense hit's cosine similarity."""
        if mode is SearchMode.KEYWORD:
            return self._bm25(query, filters, top_k), {}
        if mode is SearchMode.SEMANTIC:
            documents = self._dense.run(query_embedding=embedding, filters=filters, top_k=top_k)["documents"]
            return documents, {d.id: self.store.cosine(d.score) for d in documents}
        keyword = self._bm25(query, filters, top_k)
        dense = self._dense.run(query_embedding=embedding, filters=filters, top_k=top_k)["documents"]
        similarity = {d.id: self.store.cosine(d.score) for d in dense}  # before fusion replaces the scores
        return reciprocal_rank_fusion([keyword, dense], top_k), similarity

    def _bm25(self, query: str, filters: dict[str, Any] | None, top_k: int) -> list[Document]:
        documents: list[Document] = self._keyword.run(query=query, filters=filters, top_k=top_k)["documents"]
        return documents

    def _embed_and_retrieve(
        self, query: str, embedding: np.ndarray | None, filters: dict[str, Any] | None, top_k: int, mode: SearchMode
    ) -> tuple[list[Document], dict[str, float], list | None]:
        """Blocking: the query's embedding when it was not cached, then ``_retrieve``; one hand-off."""
        computed = None
        if embedding is None and mode is not SearchMode.KEYWORD:
            computed = self.query_embeddings.compute(query)
            embedding = np.asarray(computed, dtype=np.float32)
        documents, similarity = self._retrieve(query, embedding, filters, top_k, mode)
        return documents, similarity, computed

    def search(
        self,
        scope: Scope,
        query: str,
        *,
        top_k: int,
        mode: SearchMode = SearchMode.HYBRID,
        collection_ids: list[str] | None = None,
        filters: dict[str, Any] | None = None,
    ) -> list[Hit]:
        with metrics.SEARCH_DURATION.labels(mode.value.lower()).time():
            return self._search(scope, query, top_k, mode, collection_ids, filters)

    def _search(
        self,
        scope: Scope,
        query: str,
        top_k: int,
        mode: SearchMode,
        collection_ids: list[str] | None,
        filters: dict[str, Any] | None,
    ) -> list[Hit]:
        embedding = None if mode is SearchMode.KEYWORD else self.query_embeddings.cached(query)
        if embedding is not None:
            embedding = np.asarray(embedding, dtype=np.float32)
        combined = combine(scope.access_filter(), collections_filter(collection_ids), metadata_filter(filters))
        documents, similarity, computed = offload(
            self._embed_and_retrieve, query, embedding, combined, top_k * OVERFETCH, mode
        )
        if computed is not None:
            self.query_embeddings.remember(query, computed)
        live = self.catalog.current_versions([d.meta.get("document_id") for d in documents])
        hits = []
        for document in documents:
            row = live.get(document.meta.get("document_id"))
            if row is None or row.version != document.meta.get("version"):
                continue  # a replaced, half-replaced or deleted document's chunk
            if not scope.can_read(row.owner_id, row.collection_id):
                continue  # defence in depth: the filter already excluded it
            cosine = similarity.get(document.id)
            score = cosine if mode is SearchMode.SEMANTIC and cosine is not None else float(document.score or 0.0)
            hits.append(Hit(document.id, row.id, row.title, document.content or "", score, cosine))
            if len(hits) == top_k:
                break
        return hits
