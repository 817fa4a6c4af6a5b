"""Hybrid retrieval: BM25 and dense retrieval fused by reciprocal rank fusion
(Haystack's ``DocumentJoiner``), with the caller's access filter inside both queries.

Only chunks of the catalog's current version of a document are returned:
that is what hides a half-finished replacement or a just-deleted document on
every store. Candidates are over-fetched to make up for the ones dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from haystack import Document, Pipeline
from haystack.components.joiners import DocumentJoiner

from core import metrics
from schema.rag import SearchMode
from services.rag.access import Scope, collections_filter, combine, metadata_filter
from core.offload import offload
from services.rag.embedding import native_lock

OVERFETCH = 2


@dataclass
class Hit:
    chunk_id: str
    document_id: str
    title: str
    content: str
    score: float
    similarity: float | None  # cosine to the query, when the dense retriever found it


class Retriever:
    def __init__(self, store, query_embeddings, catalog) -> None:
        self.store, self.query_embeddings, self.catalog = store, query_embeddings, catalog
        self._pipelines: dict[int, Pipeline] = {}
        self._lock = native_lock()

    def _hybrid(self, top_k: int) -> Pipeline:
        """One pipeline per top_k, built once: building costs more than a query at 10k chunks."""
        with self._lock:
            if top_k not in self._pipelines:
                self._pipelines[top_k] = self._build(top_k)
            return self._pipelines[top_k]

    def _build(self, top_k: int) -> Pipeline:
        pipeline = Pipeline()
        pipeline.add_component("bm25", self.store.bm25_retriever(top_k))
        pipeline.add_component("dense", self.store.embedding_retriever(top_k))
        pipeline.add_component("fuse", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=top_k))
        pipeline.connect("bm25.documents", "fuse.documents")
        pipeline.connect("dense.documents", "fuse.documents")
        return pipeline

    def _retrieve(self, query: str, embedding: list[float] | None, filters: dict[str, Any] | None,
                  top_k: int, mode: SearchMode) -> tuple[list[Document], dict[str, float]]:
        """Blocking (CPU or store I/O): ranked chunks and each dense hit's cosine similarity."""
        if mode is SearchMode.KEYWORD:
            return self.store.bm25_retriever(top_k).run(query=query, filters=filters, top_k=top_k)["documents"], {}
        if mode is SearchMode.SEMANTIC:
            documents = self.store.embedding_retriever(top_k).run(
                query_embedding=embedding, filters=filters, top_k=top_k)["documents"]
            return documents, {d.id: self.store.cosine(d.score) for d in documents}
        result = self._hybrid(top_k).run(
            {"bm25": {"query": query, "filters": filters, "top_k": top_k},
             "dense": {"query_embedding": embedding, "filters": filters, "top_k": top_k}},
            include_outputs_from={"dense"})
        similarity = {d.id: self.store.cosine(d.score) for d in result["dense"]["documents"]}
        return result["fuse"]["documents"], similarity

    def search(self, scope: Scope, query: str, *, top_k: int, mode: SearchMode = SearchMode.HYBRID,
               collection_ids: list[str] | None = None, filters: dict[str, Any] | None = None) -> list[Hit]:
        with metrics.SEARCH_DURATION.labels(mode.value.lower()).time():
            return self._search(scope, query, top_k, mode, collection_ids, filters)

    def _search(self, scope: Scope, query: str, top_k: int, mode: SearchMode, collection_ids: list[str] | None,
                filters: dict[str, Any] | None) -> list[Hit]:
        embedding = None if mode is SearchMode.KEYWORD else self.query_embeddings(query)
        if embedding is not None:  # an array: the pipeline deep-copies inputs, a list float by float
            embedding = np.asarray(embedding, dtype=np.float32)
        combined = combine(scope.access_filter(), collections_filter(collection_ids), metadata_filter(filters))
        documents, similarity = offload(self._retrieve, query, embedding, combined, top_k * OVERFETCH, mode)
        live = self.catalog.current_versions([d.meta.get("document_id") for d in documents])
        hits = []
        for document in documents:
            row = live.get(document.meta.get("document_id"))
            if row is None or row.version != document.meta.get("version"):
                continue  # a replaced, half-replaced or deleted document's chunk
            if not scope.can_read(row.owner_id, row.collection_id):
                continue  # defence in depth: the filter already excluded it
            cosine = similarity.get(document.id)
            score = cosine if mode is SearchMode.SEMANTIC else float(document.score or 0.0)
            hits.append(Hit(document.id, row.id, row.title, document.content or "", score, cosine))
            if len(hits) == top_k:
                break
        return hits
