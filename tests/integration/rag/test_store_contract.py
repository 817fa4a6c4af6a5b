"""One contract, every chunk store: the embedded one always, Elasticsearch when
``AGENTHUB_ELASTICSEARCH_URL`` points at a cluster."""

from __future__ import annotations

import os
import uuid

import numpy as np
import pytest
from haystack import Document

from schema.models import Identity
from services.rag.access import Scope, combine, metadata_filter

ES_URL = os.environ.get("AGENTHUB_ELASTICSEARCH_URL")


def _embedded(tmp_path, name):
    from services.rag.stores.embedded import EmbeddedStore

    return EmbeddedStore(tmp_path / name)


def _elastic(tmp_path, name):
    from services.rag.stores.elastic import ElasticStore

    return ElasticStore(ES_URL, index=f"agenthub-test-{name}")


STORES = [
    pytest.param(_embedded, id="embedded"),
    pytest.param(
        _elastic,
        id="elasticsearch",
        marks=[
            pytest.mark.skipif(not ES_URL, reason="AGENTHUB_ELASTICSEARCH_URL is not set: no Elasticsearch cluster")
        ],
    ),
]


def vector(seed: int) -> list[float]:
    values = np.random.default_rng(seed).normal(size=384)
    return (values / np.linalg.norm(values)).tolist()


def chunk(
    document_id: str,
    version: str,
    index: int,
    content: str,
    *,
    owner="alice",
    collection="c-alice",
    seed: int = 0,
    **user,
) -> Document:
    return Document(
        id=f"{document_id}-{version}-{index}",
        content=content,
        embedding=vector(seed),
        meta={
            "document_id": document_id,
            "version": version,
            "collection_id": collection,
            "owner_id": owner,
            "title": f"{document_id}.txt",
            "user": user,
        },
    )


@pytest.fixture(params=STORES)
def open_store(request, tmp_path):
    factory, name, opened = request.param, uuid.uuid4().hex[:8], []

    def open_():
        opened.append(factory(tmp_path, name))
        return opened[-1]

    yield open_
    if factory is _elastic and opened:
        opened[-1].haystack.delete_all_documents()
    for store in opened:
        store.close()


def scope(user: str, *collections: str) -> Scope:
    return Scope(user, False, frozenset(collections))


def bm25(store, query, filters=None, top_k=10):
    return store.bm25_retriever(top_k).run(query=query, filters=filters, top_k=top_k)["documents"]


def dense(store, embedding, filters=None, top_k=10):
    return store.embedding_retriever(top_k).run(query_embedding=embedding, filters=filters, top_k=top_k)["documents"]


def test_write_count_and_retrieve(open_store):
    store = open_store()
    store.write(
        [chunk("d1", "v1", 0, "the quick brown fox", seed=1), chunk("d2", "v1", 0, "a lazy dog sleeps", seed=2)]
    )
    assert store.count() == 2
    assert [d.id for d in bm25(store, "fox")] == ["d1-v1-0"]
    found = dense(store, vector(2))
    assert found[0].id == "d2-v1-0" and store.cosine(found[0].score) == pytest.approx(1.0, abs=1e-3)


def test_access_filter_is_applied_inside_retrieval(open_store):
    store = open_store()
    store.write(
        [
            chunk("mine", "v", 0, "secret plans", owner="alice", collection="c-alice", seed=3),
            chunk("theirs", "v", 0, "secret plans too", owner="bob", collection="c-bob", seed=3),
            chunk("shared", "v", 0, "secret shared plans", owner="carol", collection="c-team", seed=3),
        ]
    )
    alice = scope("alice", "c-alice", "c-team").access_filter()
    assert {d.meta["document_id"] for d in bm25(store, "secret", alice)} == {"mine", "shared"}
    assert {d.meta["document_id"] for d in dense(store, vector(3), alice)} == {"mine", "shared"}
    # top_k counts only readable chunks: one result, and it is readable
    assert [d.meta["document_id"] for d in dense(store, vector(3), scope("bob").access_filter(), top_k=1)] == ["theirs"]
    admin = Scope.of(Identity(user_id="root", role="admin", permissions=frozenset()), catalog=None)
    assert admin.access_filter() is None and len(bm25(store, "secret")) == 3


def test_metadata_filters_match_the_documents_own_metadata(open_store):
    store = open_store()
    store.write(
        [
            chunk("en", "v", 0, "orbit of the moon", lang="en", seed=4),
            chunk("de", "v", 0, "orbit of the moon", lang="de", seed=5),
        ]
    )
    only_de = combine(scope("alice", "c-alice").access_filter(), metadata_filter({"lang": "de"}))
    assert [d.meta["document_id"] for d in bm25(store, "orbit", only_de)] == ["de"]
    both = metadata_filter({"lang": ["de", "en"]})
    assert {d.meta["document_id"] for d in dense(store, vector(4), both)} == {"de", "en"}


def test_remove_stale_keeps_only_the_current_version(open_store):
    store = open_store()
    store.write([chunk("doc", "old", i, f"old text {i}") for i in range(3)])
    store.write([chunk("doc", "new", i, f"new text {i}") for i in range(2)] + [chunk("other", "old", 0, "old other")])
    store.remove_stale("doc", "new")
    assert sorted(d.id for d in bm25(store, "text")) == ["doc-new-0", "doc-new-1"]
    assert store.count() == 3  # the other document's chunk is untouched
    store.delete_document("doc")
    assert store.count() == 1
    store.delete_chunks(["other-old-0", "never-written"])
    assert store.count() == 0


def test_chunks_survive_a_restart(open_store):
    store = open_store()
    store.write([chunk("kept", "v", 0, "persistent words", seed=9)])
    store.close()
    reopened = open_store()
    assert reopened.count() == 1
    assert bm25(reopened, "persistent")[0].id == "kept-v-0"
    assert dense(reopened, vector(9))[0].id == "kept-v-0"


def test_the_embedded_store_serves_one_process(tmp_path):
    first = _embedded(tmp_path, "single")
    try:
        with pytest.raises(SystemExit, match="another rag instance"):
            _embedded(tmp_path, "single")
    finally:
        first.close()
    _embedded(tmp_path, "single").close()  # free again once closed
