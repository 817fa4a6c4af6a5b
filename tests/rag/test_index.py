"""The embedded store's vectorised index agrees with Haystack's filter semantics."""

from __future__ import annotations

import pytest
from haystack import Document
from haystack.utils.filters import document_matches_filter

from services.rag.stores.index import ChunkIndex

pytestmark = pytest.mark.unit

DOCUMENTS = [
    Document(id=f"c{i}", content=f"word{i % 3} common", embedding=[float(i == j) for j in range(4)],
             meta={"owner_id": f"u{i % 2}", "n": i, "user": {"lang": ["en", "de", None][i % 3]}})
    for i in range(6)
]
FILTERS = [
    {"field": "meta.owner_id", "operator": "==", "value": "u1"},
    {"field": "meta.owner_id", "operator": "!=", "value": "u1"},
    {"field": "meta.user.lang", "operator": "in", "value": ["de", "fr"]},
    {"field": "meta.user.lang", "operator": "not in", "value": ["de"]},
    {"field": "meta.n", "operator": ">=", "value": 3},
    {"field": "meta.missing", "operator": "==", "value": None},
    {"operator": "OR", "conditions": [{"field": "meta.n", "operator": "<", "value": 1},
                                      {"field": "meta.user.lang", "operator": "==", "value": "de"}]},
    {"operator": "NOT", "conditions": [{"field": "meta.owner_id", "operator": "==", "value": "u0"},
                                       {"field": "meta.n", "operator": ">", "value": 1}]},
]


@pytest.mark.parametrize("filters", FILTERS, ids=[str(i) for i in range(len(FILTERS))])
def test_masks_match_haystack(filters):
    index = ChunkIndex(str.split, dimensions=4)
    index.add(DOCUMENTS)
    expected = {d.id for d in DOCUMENTS if document_matches_filter(filters, d)}
    assert {index.documents[int(row)].id for row in index.mask(filters).nonzero()[0]} == expected


def test_removed_and_replaced_chunks_leave_no_trace():
    index = ChunkIndex(str.split, dimensions=4)
    index.add(DOCUMENTS)
    index.remove(["c0", "c3"])
    index.add([Document(id="c1", content="fresh", embedding=[0, 0, 0, 1.0], meta={})])
    assert index.count == 4
    assert [d.id for d, _ in index.bm25("word0", None, 10)] == []
    assert [d.id for d, _ in index.bm25("fresh", None, 10)] == ["c1"]
    assert index.dense([0, 0, 0, 1.0], None, 1)[0][0].id == "c1"
