"""A vectorised index beside the embedded store, so hybrid search stays fast at 10k+ chunks.

Haystack's ``InMemoryDocumentStore`` evaluates filters document by document
and scores BM25 over every filtered document in Python; at 10k chunks a hybrid
query costs hundreds of milliseconds. This index keeps, incrementally:

* an embedding matrix (float32, normalised vectors): dense scores are one
  matrix-vector product;
* an inverted index (token → {row: term frequency}): BM25 touches only rows
  containing a query term;
* per-field metadata columns: a Haystack filter compiles to a boolean mask,
  applied *before* ranking, so access rules shape the top-k.

Rows of deleted chunks are tombstoned and compacted when they pile up.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
from haystack import Document

K1, B = 1.5, 0.75
_COMPARE = {
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
}


def _value(document: Document, field: str) -> Any:
    if field.startswith("meta."):
        value: Any = document.meta
        for part in field[5:].split("."):
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value
    return getattr(document, field, None)


class ChunkIndex:
    def __init__(self, tokenize: Callable[[str], list[str]], dimensions: int = 384) -> None:
        self.tokenize, self.dimensions = tokenize, dimensions
        self.clear()

    def clear(self) -> None:
        self.documents: list[Document | None] = []
        self.rows: dict[str, int] = {}
        self.alive = np.zeros(0, dtype=bool)
        self.has_embedding = np.zeros(0, dtype=bool)
        self.matrix = np.zeros((0, self.dimensions), dtype=np.float32)
        self.lengths = np.zeros(0, dtype=np.float32)
        self.postings: dict[str, dict[int, int]] = {}
        self.terms: list[Counter | None] = []
        self.total_length = 0.0
        self._columns: dict[str, np.ndarray] = {}
        self._masks: dict[str, np.ndarray] = {}  # the last filters' masks: hybrid asks twice per query

    @property
    def count(self) -> int:
        return len(self.rows)

    # ------------------------------------------------------------ maintenance

    def _grow(self, extra: int) -> None:
        size, needed = len(self.alive), len(self.documents) + extra
        if needed <= size:
            return
        capacity = max(needed, size * 2, 1024)
        self.alive = np.concatenate([self.alive, np.zeros(capacity - size, dtype=bool)])
        self.has_embedding = np.concatenate([self.has_embedding, np.zeros(capacity - size, dtype=bool)])
        self.lengths = np.concatenate([self.lengths, np.zeros(capacity - size, dtype=np.float32)])
        self.matrix = np.concatenate([self.matrix, np.zeros((capacity - size, self.dimensions), dtype=np.float32)])

    def add(self, documents: list[Document]) -> None:
        self.remove([d.id for d in documents if d.id in self.rows])
        self._grow(len(documents))
        for document in documents:
            row = len(self.documents)
            self.documents.append(document)
            self.rows[document.id] = row
            self.alive[row] = True
            if document.embedding is not None:
                self.matrix[row] = np.asarray(document.embedding, dtype=np.float32)
                self.has_embedding[row] = True
            counts = Counter(self.tokenize(document.content or ""))
            self.terms.append(counts)
            length = sum(counts.values())
            self.lengths[row] = length
            self.total_length += length
            for token, tf in counts.items():
                self.postings.setdefault(token, {})[row] = tf
        self._columns.clear()
        self._masks.clear()

    def remove(self, ids: list[str]) -> None:
        for chunk_id in ids:
            row = self.rows.pop(chunk_id, None)
            if row is None:
                continue
            self.alive[row] = False
            self.has_embedding[row] = False
            counts = self.terms[row] or Counter()
            for token in counts:
                postings = self.postings.get(token)
                if postings is not None:
                    postings.pop(row, None)
                    if not postings:
                        del self.postings[token]
            self.total_length -= float(self.lengths[row])
            self.documents[row], self.terms[row] = None, None
        self._columns.clear()
        self._masks.clear()
        dead = len(self.documents) - len(self.rows)
        if dead > 1000 and dead > len(self.rows):
            survivors = [d for d in self.documents if d is not None]
            self.clear()
            self.add(survivors)

    # ------------------------------------------------------------ filters

    def _column(self, field: str) -> np.ndarray:
        column = self._columns.get(field)
        if column is None:
            column = np.empty(len(self.documents), dtype=object)
            column[:] = [None if d is None else _value(d, field) for d in self.documents]
            self._columns[field] = column
        return column

    def mask(self, filters: dict[str, Any] | None) -> np.ndarray:
        """Rows matching a Haystack filter (and alive)."""
        size = len(self.documents)
        if not filters:
            return self.alive[:size].copy()
        key = json.dumps(filters, sort_keys=True, default=str)
        mask = self._masks.get(key)
        if mask is None:
            if len(self._masks) >= 16:
                self._masks.clear()
            mask = self._masks[key] = self.alive[:size] & self._mask(filters, size)
        return mask.copy()

    def _mask(self, node: dict[str, Any], size: int) -> np.ndarray:
        if "conditions" in node:
            parts = [self._mask(c, size) for c in node["conditions"]]
            operator = node["operator"].upper()
            if operator == "AND":
                return np.logical_and.reduce(parts) if parts else np.ones(size, dtype=bool)
            if operator == "OR":
                return np.logical_or.reduce(parts) if parts else np.zeros(size, dtype=bool)
            if operator == "NOT":
                return ~np.logical_and.reduce(parts) if parts else np.zeros(size, dtype=bool)
            raise ValueError(f"unknown logical operator {operator}")
        column, operator, value = self._column(node["field"]), node["operator"], node.get("value")
        if operator == "==":
            return np.fromiter((v == value and v is not None or (v is None and value is None) for v in column),
                               dtype=bool, count=size)
        if operator == "!=":
            return ~self._mask({**node, "operator": "=="}, size)
        if operator in ("in", "not in"):
            if not isinstance(value, list):
                raise ValueError(f"filter '{operator}' needs a list")
            wanted = set(value)
            hits = np.fromiter((v in wanted if isinstance(v, (str, int, float, bool)) else False for v in column),
                               dtype=bool, count=size)
            return hits if operator == "in" else ~hits
        compare = _COMPARE.get(operator)
        if compare is None:
            raise ValueError(f"unknown comparison operator {operator}")

        def test(v: Any) -> bool:
            try:
                return v is not None and bool(compare(v, value))
            except TypeError:
                return False

        return np.fromiter((test(v) for v in column), dtype=bool, count=size)

    # ------------------------------------------------------------ ranking

    def dense(self, query: list[float], filters: dict[str, Any] | None, top_k: int) -> list[tuple[Document, float]]:
        size = len(self.documents)
        mask = self.mask(filters) & self.has_embedding[:size]
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            return []
        if rows.size > size // 4:  # most rows: one product over the matrix beats copying the selected rows
            scores = (self.matrix[:size] @ np.asarray(query, dtype=np.float32))[rows]
        else:
            scores = self.matrix[rows] @ np.asarray(query, dtype=np.float32)
        return self._top(rows, scores, top_k)

    def bm25(self, query: str, filters: dict[str, Any] | None, top_k: int) -> list[tuple[Document, float]]:
        size, n = len(self.documents), max(self.count, 1)
        average = (self.total_length / n) or 1.0
        scores = np.zeros(size, dtype=np.float32)
        touched = np.zeros(size, dtype=bool)
        for token in set(self.tokenize(query)):
            postings = self.postings.get(token)
            if not postings:
                continue
            idf = math.log(1 + (n - len(postings) + 0.5) / (len(postings) + 0.5))
            rows = np.fromiter(postings.keys(), dtype=np.int64, count=len(postings))
            tf = np.fromiter(postings.values(), dtype=np.float32, count=len(postings))
            norm = K1 * (1 - B + B * self.lengths[rows] / average)
            scores[rows] += idf * tf * (K1 + 1) / (tf + norm)
            touched[rows] = True
        candidates = touched & self.mask(filters) if touched.any() else touched
        rows = np.flatnonzero(candidates)
        return self._top(rows, scores[rows], top_k) if rows.size else []

    def _top(self, rows: np.ndarray, scores: np.ndarray, top_k: int) -> list[tuple[Document, float]]:
        if rows.size > top_k:
            best = np.argpartition(-scores, top_k - 1)[:top_k]
            rows, scores = rows[best], scores[best]
        order = np.argsort(-scores, kind="stable")
        return [(self.documents[int(rows[i])], float(scores[i])) for i in order]
