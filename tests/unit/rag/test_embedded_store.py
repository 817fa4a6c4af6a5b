"""The embedded store (Tantivy + USearch): filters mean what Haystack's mean, the vectors
survive a crash, and the store it replaced is moved in."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from haystack import Document
from haystack.utils.filters import document_matches_filter

from services.rag.stores.embedded import EmbeddedStore, FilterError


def unit(seed: int) -> list[float]:
    values = np.random.default_rng(seed).normal(size=384)
    return (values / np.linalg.norm(values)).tolist()


DOCUMENTS = [
    Document(
        id=f"c{i}",
        content=f"word{i % 3} common",
        embedding=unit(i),
        meta={"owner_id": f"u{i % 2}", "n": i, "user": {"lang": ["en", "de", None][i % 3]}},
    )
    for i in range(6)
]
FILTERS = [
    {"field": "meta.owner_id", "operator": "==", "value": "u1"},
    {"field": "meta.owner_id", "operator": "!=", "value": "u1"},
    {"field": "meta.n", "operator": "==", "value": 4},
    {"field": "meta.user.lang", "operator": "in", "value": ["de", "fr"]},
    {"field": "meta.user.lang", "operator": "not in", "value": ["de"]},
    {"field": "meta.missing", "operator": "==", "value": None},
    {"field": "meta.user.lang", "operator": "!=", "value": None},
    {
        "operator": "OR",
        "conditions": [
            {"field": "meta.n", "operator": "==", "value": 0},
            {"field": "meta.user.lang", "operator": "==", "value": "de"},
        ],
    },
    {
        "operator": "NOT",
        "conditions": [
            {"field": "meta.owner_id", "operator": "==", "value": "u0"},
            {"field": "meta.user.lang", "operator": "==", "value": "en"},
        ],
    },
    {
        "operator": "AND",
        "conditions": [
            {"field": "meta.owner_id", "operator": "==", "value": "u1"},
            {"field": "meta.n", "operator": "in", "value": [1, 3, 4]},
        ],
    },
]


@pytest.fixture
def store(tmp_path):
    store = EmbeddedStore(tmp_path / "chunks")
    store.write(DOCUMENTS)
    yield store
    store.close()


@pytest.mark.parametrize("filters", FILTERS, ids=[str(i) for i in range(len(FILTERS))])
def test_filters_match_haystack(store, filters):
    expected = {d.id for d in DOCUMENTS if document_matches_filter(filters, d)}
    assert {
        d.id for d in store.embedding_retriever(10).run(query_embedding=unit(0), filters=filters)["documents"]
    } == expected
    assert {d.id for d in store.bm25_retriever(10).run(query="common", filters=filters)["documents"]} == expected
    assert store.count(filters) == len(expected)


def test_unsupported_filters_are_refused(store):
    with pytest.raises(FilterError):
        store.count({"field": "meta.n", "operator": ">", "value": 1})


def test_replaced_chunks_leave_no_trace(store):
    store.write([Document(id="c1", content="fresh", embedding=unit(99), meta={"owner_id": "u1"})])
    assert store.count() == 6
    assert [d.id for d in store.bm25_retriever(10).run(query="word1")["documents"]] == ["c4"]
    found = store.embedding_retriever(1).run(query_embedding=unit(99))["documents"]
    assert found[0].id == "c1" and found[0].content == "fresh" and found[0].score == pytest.approx(1.0, abs=1e-2)
    assert [d.id for d in store.embedding_retriever(10).run(query_embedding=unit(1))["documents"]].count("c1") == 1


def test_vectors_are_rebuilt_after_a_crash(tmp_path):
    store = EmbeddedStore(tmp_path / "chunks")
    store.write(DOCUMENTS)
    store.engine._save_vectors()
    store.write([Document(id="late", content="written after the last save", embedding=unit(42), meta={})])
    store.engine.writer.wait_merging_threads()  # what a SIGKILL leaves: Tantivy committed, vectors not saved
    store.engine._lockfile.close()
    reopened = EmbeddedStore(tmp_path / "chunks")
    try:
        assert reopened.count() == 7
        assert reopened.embedding_retriever(1).run(query_embedding=unit(42))["documents"][0].id == "late"
    finally:
        reopened.close()


def test_after_a_crash_only_what_changed_since_the_last_save_is_redone(tmp_path, monkeypatch):
    from services.rag.stores.embedded import ChunkEngine

    store = EmbeddedStore(tmp_path / "chunks")
    store.write(DOCUMENTS)
    store.engine._save_vectors()
    store.delete_chunks(["c0"])
    store.write(
        [
            Document(id="late", content="written after the last save", embedding=unit(42), meta={}),
            Document(id="bare", content="no embedding", meta={}),
        ]
    )
    store.engine.writer.wait_merging_threads()  # a SIGKILL: Tantivy committed, the vectors not saved
    store.engine._lockfile.close()

    def no_rebuild(self):
        raise AssertionError("the whole vector index was rebuilt")

    monkeypatch.setattr(ChunkEngine, "_rebuild_vectors", no_rebuild)
    reopened = EmbeddedStore(tmp_path / "chunks")
    try:
        assert reopened.count() == 7
        assert len(reopened.engine.vectors) == 6  # c1..c5 and late; c0 deleted; bare has no vector
        assert reopened.embedding_retriever(1).run(query_embedding=unit(42))["documents"][0].id == "late"
        assert reopened.embedding_retriever(1).run(query_embedding=unit(0))["documents"][0].id != "c0"
    finally:
        reopened.close()
    again = EmbeddedStore(tmp_path / "chunks")  # the caught-up file was saved: it matches now
    try:
        assert len(again.engine.vectors) == 6
    finally:
        again.close()


def test_the_previous_sqlite_store_is_moved_in(tmp_path):
    db = sqlite3.connect(tmp_path / "chunks.sqlite3")
    db.execute("CREATE TABLE chunks (id TEXT PRIMARY KEY, document_id TEXT, content TEXT, meta TEXT, embedding BLOB)")
    db.execute(
        "INSERT INTO chunks VALUES (?, ?, ?, ?, ?)",
        (
            "old-1",
            "old",
            "kept across the upgrade",
            json.dumps({"document_id": "old", "owner_id": "u"}),
            np.asarray(unit(7), dtype=np.float32).tobytes(),
        ),
    )
    db.commit()
    db.close()
    store = EmbeddedStore(tmp_path / "chunks")
    try:
        assert store.bm25_retriever(1).run(query="upgrade")["documents"][0].meta["owner_id"] == "u"
        assert store.embedding_retriever(1).run(query_embedding=unit(7))["documents"][0].id == "old-1"
    finally:
        store.close()
    assert not (tmp_path / "chunks.sqlite3").exists() and (tmp_path / "chunks.imported").exists()


def test_the_health_check_does_not_wait_for_a_write(store):
    """``check`` runs on the rag hub (``health``), not offloaded: waiting there for the lock a long
    write holds in a native thread would hold every RPC of the process for as long."""
    import threading

    store.write(DOCUMENTS)
    held, release = threading.Event(), threading.Event()

    def writing() -> None:
        with store.engine.lock:  # as a large job's write holds it
            held.set()
            release.wait(10)

    writer = threading.Thread(target=writing)
    writer.start()
    try:
        assert held.wait(5)
        checked: list[str] = []
        checker = threading.Thread(target=lambda: checked.append(store.check()))
        checker.start()
        checker.join(2)
        assert checked == [f"{len(DOCUMENTS)} chunks in {store.engine.directory.name}"]
    finally:
        release.set()
        writer.join()
