"""``reciprocal_rank_fusion`` ranks exactly as Haystack's ``DocumentJoiner`` in RRF mode."""

from __future__ import annotations

import random

from haystack import Document
from haystack.components.joiners import DocumentJoiner

from services.rag.retrieval import reciprocal_rank_fusion


def test_same_ranking_and_scores_as_the_joiner() -> None:
    joiner = DocumentJoiner(join_mode="reciprocal_rank_fusion")
    rng = random.Random(7)
    for _ in range(300):
        pool = [f"c{n}" for n in range(rng.randint(0, 30))]
        lists = [
            [Document(id=i, content=i, score=rng.random()) for i in rng.sample(pool, rng.randint(0, len(pool)))]
            for _ in range(2)
        ]
        top_k = rng.randint(1, 25)
        expected = joiner.run(lists, top_k=top_k)["documents"]
        fused = reciprocal_rank_fusion(lists, top_k)
        assert [(d.id, d.score) for d in fused] == [(d.id, d.score) for d in expected]


def test_inputs_are_not_changed() -> None:
    keyword = [Document(id="a", content="a", score=3.0), Document(id="b", content="b", score=2.0)]
    dense = [Document(id="b", content="b", score=0.9)]
    fused = reciprocal_rank_fusion([keyword, dense], 2)
    assert [d.id for d in fused] == ["b", "a"]
    assert [d.score for d in keyword] == [3.0, 2.0] and dense[0].score == 0.9
