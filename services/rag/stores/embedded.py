"""The embedded store: Tantivy (BM25, metadata, the chunks themselves) and USearch (vectors).

Both engines keep their data in files under one directory and open in
seconds: nothing is loaded whole into memory but the vector graph. Tantivy is
the record: each chunk is one Tantivy document with its text (BM25, the
default tokenizer), its metadata as an indexed JSON field (filters), its
original metadata and embedding (stored, to return and to rebuild from) and
an integer ``key``, the chunk's label in the USearch index (inner product of
normalised vectors, bfloat16).

* BM25: the query's terms OR-ed, AND the filter compiled to a Tantivy query
  (scored zero), so the access filter applies inside the query, before ranking.
* Dense: the HNSW graph is searched for more candidates than asked, those the
  filter admits are kept (one Tantivy lookup); when too few pass, the
  candidates grow, and for a narrow filter every admitted chunk is scored.
  Either way top-k counts only chunks the filter admits, and the final
  candidates are rescored with their stored float32 embeddings.
* Writes commit Tantivy at once; the vector file is saved at close and at
  most once a minute. After a crash the next start loads the saved file and adds
  (or removes) only the vectors of chunks Tantivy committed (or deleted) since;
  the saved file names the Tantivy commit it matches. Without a readable file
  the vectors are rebuilt from Tantivy.

One native lock orders writes and reads. One rag instance per directory: a
file lock stops a second one at start.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np
from haystack import Document, component

from services.rag.embedding import DIMENSIONS, native_lock
from services.rag.native import tantivy, usearch_index
from services.rag.stores.base import document_filter, stale_filter

Query, Occur = tantivy.Query, tantivy.Occur
_TOKENS = re.compile(r"[^\W_]+")  # what Tantivy's default tokenizer keeps (it splits on non-alphanumerics)
SAVE_EVERY = 60.0  # seconds between saves of the vector file while writing
NARROW = 2_000  # a filter admitting at most this many chunks is scored exactly
KEYS_AS_TERMS = 512  # at most this many candidate keys are looked up one term query each


def _schema():
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("key", stored=True, indexed=True, fast=True)
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("content", stored=True)
    builder.add_json_field("meta", stored=False, fast=True, tokenizer_name="raw")
    builder.add_bytes_field("source", stored=True, indexed=False)
    builder.add_bytes_field("vector", stored=True, indexed=False)
    return builder.build()


class FilterError(ValueError):
    """A Haystack filter the embedded store cannot evaluate."""


def compile_filter(schema, node: dict[str, Any]):
    """A Haystack filter as a Tantivy query: ``==``, ``!=``, ``in``, ``not in``, AND, OR, NOT
    on ``meta.*`` fields (what access, collection and metadata filters use)."""
    if "conditions" in node:
        parts = [compile_filter(schema, c) for c in node["conditions"]]
        operator = node["operator"].upper()
        if operator == "AND":
            return Query.boolean_query([(Occur.Must, p) for p in parts]) if parts else Query.all_query()
        if operator == "OR":
            return Query.boolean_query([(Occur.Should, p) for p in parts]) if parts else Query.empty_query()
        if operator == "NOT":
            inner = Query.boolean_query([(Occur.Must, p) for p in parts]) if parts else Query.all_query()
            return Query.boolean_query([(Occur.Must, Query.all_query()), (Occur.MustNot, inner)])
        raise FilterError(f"unknown logical operator {operator}")
    field, operator, value = node.get("field", ""), node.get("operator"), node.get("value")
    if not field.startswith("meta.") or len(field) <= 5:
        raise FilterError(f"filters apply to meta.* fields, not {field!r}")
    if operator in ("==", "!="):
        if value is None:
            match = Query.boolean_query(
                [(Occur.Must, Query.all_query()), (Occur.MustNot, Query.exists_query(field, json_subpaths=True))]
            )
        else:
            match = _term(schema, field, value)
        if operator == "==":
            return match
        return Query.boolean_query([(Occur.Must, Query.all_query()), (Occur.MustNot, match)])
    if operator in ("in", "not in"):
        if not isinstance(value, list):
            raise FilterError(f"filter '{operator}' needs a list")
        values = [v for v in value if isinstance(v, (str, int, float, bool))]
        match = (
            Query.boolean_query([(Occur.Should, _term(schema, field, v)) for v in values])
            if values
            else Query.empty_query()
        )
        if operator == "in":
            return match
        return Query.boolean_query([(Occur.Must, Query.all_query()), (Occur.MustNot, match)])
    raise FilterError(f"the embedded store does not filter with {operator!r}")


def _term(schema, field: str, value: Any):
    if not isinstance(value, (str, int, float, bool)):
        raise FilterError(f"cannot compare {field} with a {type(value).__name__}")
    return Query.term_query(schema, field, value)


class ChunkEngine:
    """The two engines behind one lock. Calls block: run them offloaded."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.lock = native_lock()
        self._claim()
        self.schema = _schema()
        (self.directory / "text").mkdir(exist_ok=True)
        self.index = tantivy.Index(self.schema, path=str(self.directory / "text"))
        self.writer = self.index.writer(heap_size=50_000_000, num_threads=1)
        # bfloat16: half the memory of float32 and the fastest inserts measured here; the final
        # candidates are rescored with their stored float32 embeddings (``_rescored``)
        self.vectors = usearch_index.Index(
            ndim=DIMENSIONS, metric="ip", dtype="bf16", connectivity=16, expansion_add=64, expansion_search=96
        )
        self._counts: dict[str, Any] = {}
        self._saved_at = time.monotonic()
        self._dirty = False
        self.index.reload()
        self._open_vectors()
        self.next_key = self._max_key() + 1

    # ------------------------------------------------------------ files

    def _claim(self) -> None:
        """One process per store: a second rag instance on this data directory stops at start."""
        self._lockfile = open(self.directory / "lock", "a+")
        try:
            fcntl.flock(self._lockfile, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lockfile.close()
            raise SystemExit(
                f"{self.directory} is in use by another rag instance: the embedded store serves one "
                "instance; set AGENTHUB_DOCUMENT_STORE=elasticsearch to run several."
            ) from None

    def _stamp(self) -> str:
        """What the saved vectors must match: keys only grow, so a write changes the largest key
        and a deletion the count."""
        return f"{self._max_key()}:{self.index.searcher().num_docs}"

    def _open_vectors(self) -> None:
        path, manifest = self.directory / "vectors.usearch", self.directory / "vectors.json"
        try:
            saved = json.loads(manifest.read_text())
        except (OSError, ValueError):
            saved = {}
        if not path.exists():
            self._rebuild_vectors()
            return
        try:
            self.vectors.load(str(path))
        except Exception:  # unreadable: the vectors are all in Tantivy
            self._rebuild_vectors()
            return
        if saved.get("stamp") != self._stamp():
            self._catch_up()

    def _catch_up(self) -> None:
        """After a crash: the saved graph plus what Tantivy committed since (chunks written or deleted
        after the last save), instead of a whole rebuild, which at 1M chunks takes most of an hour."""
        searcher = self.index.searcher()
        hits = searcher.search(Query.all_query(), max(searcher.num_docs, 1)).hits if searcher.num_docs else []
        addresses = [address for _, address in hits]
        live = np.asarray(searcher.fast_field_values("key", addresses) if addresses else [], dtype=np.uint64)
        indexed = np.asarray(self.vectors.keys, dtype=np.uint64)
        gone = np.setdiff1d(indexed, live)
        if len(gone):
            self.vectors.remove(gone)
        missing = set(np.setdiff1d(live, indexed).tolist())
        keys, rows = [], []
        for address, key in zip(addresses, live.tolist()):
            if key in missing:
                vector = searcher.doc(address).get_first("vector")
                if vector:  # a chunk written without an embedding has none
                    keys.append(key)
                    rows.append(np.frombuffer(vector, dtype=np.float32))
        if keys:
            self.vectors.add(np.asarray(keys, dtype=np.uint64), np.vstack(rows))
        self._save_vectors()

    def _rebuild_vectors(self) -> None:
        """The vector index from the embeddings Tantivy stores (after a crash, or the first time)."""
        self.vectors.reset()
        searcher = self.index.searcher()
        if searcher.num_docs:
            hits = searcher.search(Query.all_query(), searcher.num_docs).hits
            keys, rows = [], []
            for _, address in hits:
                stored = searcher.doc(address)
                vector = stored.get_first("vector")
                if vector:
                    keys.append(stored.get_first("key"))
                    rows.append(np.frombuffer(vector, dtype=np.float32))
            if keys:
                self.vectors.add(np.asarray(keys, dtype=np.uint64), np.vstack(rows))
        self._save_vectors()

    def _save_vectors(self) -> None:
        path = self.directory / "vectors.usearch"
        self.vectors.save(str(path.with_suffix(".tmp")))
        path.with_suffix(".tmp").replace(path)
        (self.directory / "vectors.json").write_text(json.dumps({"stamp": self._stamp()}))
        self._saved_at, self._dirty = time.monotonic(), False

    def _max_key(self) -> int:
        searcher = self.index.searcher()
        if not searcher.num_docs:
            return int(max(self.vectors.keys, default=0)) if len(self.vectors) else 0
        hits = searcher.search(Query.all_query(), 1, order_by_field="key").hits
        return int(hits[0][0]) if hits else 0

    # ------------------------------------------------------------ writes

    def _keys(self, query) -> list[int]:
        searcher = self.index.searcher()
        hits = searcher.search(query, max(searcher.num_docs, 1)).hits
        return [int(k) for k in searcher.fast_field_values("key", [a for _, a in hits]) if k is not None]

    def _commit(self) -> None:
        self.writer.commit()
        self.index.reload()
        self._counts.clear()
        self._dirty = True
        if time.monotonic() - self._saved_at > SAVE_EVERY:
            self._save_vectors()

    def write(self, documents: list[Document]) -> None:
        with self.lock:
            ids = [d.id for d in documents]
            old = self._keys(Query.term_set_query(self.schema, "id", ids)) if ids else []
            for chunk_id in ids:
                self.writer.delete_documents_by_term("id", chunk_id)
            keys, rows = [], []
            for document in documents:
                key, self.next_key = self.next_key, self.next_key + 1
                stored = tantivy.Document()
                stored.add_unsigned("key", key)
                stored.add_text("id", document.id)
                stored.add_text("content", document.content or "")
                stored.add_json("meta", document.meta)
                stored.add_bytes("source", json.dumps(document.meta).encode())
                if document.embedding is not None:
                    vector = np.asarray(document.embedding, dtype=np.float32)
                    stored.add_bytes("vector", vector.tobytes())
                    keys.append(key)
                    rows.append(vector)
                self.writer.add_document(stored)
            self._commit()
            # One thread: a job's few dozen vectors are too few to share out, and USearch starts
            # its threads per call (a job's 35 vectors: 2.0-2.9 ms of CPU on one thread against
            # 2.9-4.0 on two, 2 cores with AVX2), while the other core embeds. Rebuilds keep every core.
            if old:
                self.vectors.remove(np.asarray(old, dtype=np.uint64), threads=1)
            if keys:
                self.vectors.add(np.asarray(keys, dtype=np.uint64), np.vstack(rows), threads=1)

    def delete(self, filters: dict[str, Any] | None = None, ids: list[str] | None = None) -> int:
        """Chunks matching ``filters``, or with these ``ids``, removed from both engines."""
        with self.lock:
            query = (
                compile_filter(self.schema, filters) if filters else Query.term_set_query(self.schema, "id", ids or [])
            )
            keys = self._keys(query)
            if not keys:
                return 0
            self.writer.delete_documents_by_query(query)
            self._commit()
            self.vectors.remove(np.asarray(keys, dtype=np.uint64))
            return len(keys)

    # ------------------------------------------------------------ reads

    def count(self, filters: dict[str, Any] | None = None) -> int:
        with self.lock:
            searcher = self.index.searcher()
            if not filters:
                return searcher.num_docs
            return searcher.search(compile_filter(self.schema, filters), 1).count  # type: ignore[attr-defined]  # in tantivy 0.27, not in its stub

    def _documents(self, searcher, scored: list[tuple[Any, float]]) -> list[Document]:
        documents = []
        for address, score in scored:
            stored = searcher.doc(address)
            documents.append(
                Document(
                    id=stored.get_first("id"),
                    content=stored.get_first("content"),
                    meta=json.loads(stored.get_first("source")),
                    score=float(score),
                )
            )
        return documents

    def bm25(self, query: str, filters: dict[str, Any] | None, top_k: int) -> list[Document]:
        terms = sorted({t.lower() for t in _TOKENS.findall(query) if len(t) < 40})
        if not terms or top_k <= 0:
            return []
        text = Query.boolean_query([(Occur.Should, Query.term_query(self.schema, "content", t)) for t in terms])
        with self.lock:
            if filters:
                text = Query.boolean_query(
                    [
                        (Occur.Must, text),
                        (Occur.Must, Query.const_score_query(compile_filter(self.schema, filters), 0.0)),
                    ]
                )
            searcher = self.index.searcher()
            hits = searcher.search(text, top_k).hits
            return self._documents(searcher, [(address, score) for score, address in hits])

    def dense(self, embedding, filters: dict[str, Any] | None, top_k: int) -> list[Document]:
        query = np.asarray(embedding, dtype=np.float32)
        with self.lock:
            size = len(self.vectors)
            if size == 0 or top_k <= 0:
                return []
            searcher = self.index.searcher()
            admitted_query = compile_filter(self.schema, filters) if filters else None
            admitted = self._admitted(searcher, filters, admitted_query) if filters else size
            if admitted == 0:
                return []
            if admitted_query is not None and admitted <= NARROW:
                candidates = self._exact(searcher, admitted_query, query, 2 * top_k)
            else:
                candidates = self._approximate(searcher, admitted_query, query, top_k, size, admitted)
            return self._rescored(searcher, candidates, query, top_k)

    def _admitted(self, searcher, filters: dict[str, Any], admitted_query) -> int:
        """How many chunks a filter admits; remembered until the next write (a user's access
        filter repeats with each of their searches)."""
        key = json.dumps(filters, sort_keys=True, default=str)
        if len(self._counts) > 256:
            self._counts.clear()
        if key not in self._counts:
            self._counts[key] = searcher.search(admitted_query, 1).count
        return self._counts[key]

    def _exact(self, searcher, admitted_query, query: np.ndarray, wanted: int) -> list:
        """A narrow filter: every admitted vector scored (from the index, half precision)."""
        hits = searcher.search(admitted_query, searcher.num_docs).hits
        addresses = [a for _, a in hits]
        keys = np.asarray(searcher.fast_field_values("key", addresses), dtype=np.uint64)
        present = np.asarray(self.vectors.contains(keys), dtype=bool).reshape(-1)
        if not present.any():
            return []
        addresses = [a for a, p in zip(addresses, present) if p]
        matrix = np.asarray(self.vectors.get(keys[present]), dtype=np.float32).reshape(-1, DIMENSIONS)
        best = np.argsort(-(matrix @ query), kind="stable")[:wanted]
        return [addresses[i] for i in best]

    def _approximate(self, searcher, admitted_query, query: np.ndarray, top_k: int, size: int, admitted: int) -> list:
        """The graph's nearest neighbours that the filter admits, asking for more until enough pass."""
        wanted = min(size, max(top_k * 2, int(top_k * 2 * size / admitted)))
        while True:
            keys = [int(k) for k in self.vectors.search(query, wanted).keys]
            restrict = self._keys_query(keys)
            if admitted_query is not None:
                restrict = Query.boolean_query([(Occur.Must, restrict), (Occur.Must, admitted_query)])
            addresses = [a for _, a in searcher.search(restrict, len(keys)).hits] if keys else []
            if len(addresses) >= top_k or wanted >= size:
                return addresses
            wanted = min(size, wanted * 4)

    def _keys_query(self, keys: list[int]):
        """The chunks with these keys. A few keys as term queries OR-ed: each is one lookup in the
        term dictionary, where Tantivy's term-set query walks the whole dictionary of the field
        (0.47 against 0.09 ms for 40 keys at 50k chunks, and growing with the store)."""
        if len(keys) > KEYS_AS_TERMS:
            return Query.term_set_query(self.schema, "key", keys)
        return Query.boolean_query([(Occur.Should, Query.term_query(self.schema, "key", key)) for key in keys])

    def _rescored(self, searcher, addresses: list, query: np.ndarray, top_k: int) -> list[Document]:
        """The candidates scored exactly with their stored float32 embeddings: true cosines."""
        scored = []
        for address in addresses:
            stored = searcher.doc(address)
            vector = np.frombuffer(stored.get_first("vector"), dtype=np.float32)
            scored.append((float(vector @ query), stored))
        scored.sort(key=lambda pair: -pair[0])
        return [
            Document(
                id=stored.get_first("id"),
                content=stored.get_first("content"),
                meta=json.loads(stored.get_first("source")),
                score=score,
            )
            for score, stored in scored[:top_k]
        ]

    def close(self) -> None:
        with self.lock:
            if self._lockfile.closed:
                return
            if self._dirty:
                self._save_vectors()
            self.writer.wait_merging_threads()  # also releases Tantivy's own writer lock
            self._lockfile.close()  # releases the flock


@component
class BM25Retriever:
    """Haystack component over ``ChunkEngine.bm25``."""

    def __init__(self, engine: ChunkEngine, top_k: int = 10) -> None:
        self.engine, self.top_k = engine, top_k

    @component.output_types(documents=list[Document])
    def run(self, query: str, filters: dict[str, Any] | None = None, top_k: int | None = None):
        return {"documents": self.engine.bm25(query, filters, top_k or self.top_k)}


@component
class EmbeddingRetriever:
    """Haystack component over ``ChunkEngine.dense``; scores are cosine similarities."""

    def __init__(self, engine: ChunkEngine, top_k: int = 10) -> None:
        self.engine, self.top_k = engine, top_k

    @component.output_types(documents=list[Document])
    def run(self, query_embedding: Any, filters: dict[str, Any] | None = None, top_k: int | None = None):
        return {"documents": self.engine.dense(query_embedding, filters, top_k or self.top_k)}


class EmbeddedStore:
    """``ChunkStore`` over ``ChunkEngine``. Calls block: run them offloaded."""

    kind = "embedded"

    def __init__(self, directory: Path) -> None:
        directory = Path(directory)
        self.engine = ChunkEngine(directory)
        _import_sqlite(directory.with_name("chunks.sqlite3"), self.engine)

    def write(self, chunks: list[Document]) -> None:
        self.engine.write(chunks)

    def remove_stale(self, document_id: str, version: str) -> None:
        self.engine.delete(stale_filter(document_id, version))

    def delete_document(self, document_id: str) -> None:
        self.engine.delete(document_filter(document_id))

    def delete_chunks(self, chunk_ids: list[str]) -> None:
        if chunk_ids:
            self.engine.delete(ids=chunk_ids)

    def count(self, filters: dict[str, Any] | None = None) -> int:
        return self.engine.count(filters)

    def bm25_retriever(self, top_k: int) -> BM25Retriever:
        return BM25Retriever(self.engine, top_k)

    def embedding_retriever(self, top_k: int) -> EmbeddingRetriever:
        return EmbeddingRetriever(self.engine, top_k)

    def cosine(self, score: float) -> float:
        return float(score)  # inner product of normalised vectors

    def check(self) -> str:
        """On the hub (``health``): the last commit's count, read without the lock a long write holds."""
        return f"{self.engine.index.searcher().num_docs} chunks in {self.engine.directory.name}"

    def close(self) -> None:
        self.engine.close()


def _import_sqlite(path: Path, engine: ChunkEngine) -> None:
    """Chunks of the store this one replaced (one SQLite file), moved in once, then set aside."""
    if not path.is_file():
        return
    db = sqlite3.connect(path)
    try:
        batch = []
        for chunk_id, content, meta, embedding in db.execute("SELECT id, content, meta, embedding FROM chunks"):
            vector = np.frombuffer(embedding, dtype=np.float32).tolist() if embedding else None
            batch.append(Document(id=chunk_id, content=content, meta=json.loads(meta), embedding=vector))
            if len(batch) >= 1000:
                engine.write(batch)
                batch = []
        if batch:
            engine.write(batch)
    finally:
        db.close()
    shutil.move(str(path), str(path.with_suffix(".imported")))
