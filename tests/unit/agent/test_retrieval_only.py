"""The agent without a model quotes only passages that are relevant enough (the relevance floor)."""

from __future__ import annotations

from schema.rag import SearchHit, SearchInput
from services.agent.runner import NO_MODEL_NOTICE, RunState, Toolbox, run_retrieval_only


class Events:
    def __init__(self) -> None:
        self.emitted = []

    def emit(self, type_, **fields) -> None:
        self.emitted.append((type_, fields))


def run(hits: list[dict], question: str):
    modes = []

    def search(data: SearchInput) -> list[SearchHit]:  # rag's search operation, as the contract declares it
        modes.append(data.mode.value)
        return [SearchHit.model_validate(hit) for hit in hits]

    state = RunState(events=Events(), deadline=float("inf"))
    outcome = run_retrieval_only(state, Toolbox(state, search, None, tool_timeout=5, min_relevance=0.3), question)
    return outcome, modes


def test_a_passage_below_the_floor_is_not_quoted():
    licence = {
        "document_id": "d1",
        "chunk_id": "c1",
        "title": "COPYING",
        "score": 0.08,
        "content": "Permission is hereby granted, free of charge, to any person obtaining a copy.",
    }
    outcome, modes = run([licence], "Why do otters hold hands?")
    assert modes == ["SEMANTIC"]  # cosine scores, comparable with the floor
    assert outcome.answer == NO_MODEL_NOTICE + "\n\nNo passage of your documents matches the question."
    assert outcome.citations == []


def test_a_relevant_passage_is_quoted_with_its_citation():
    otters = {
        "document_id": "d2",
        "chunk_id": "c2",
        "title": "otters.md",
        "score": 0.71,
        "content": "Sea otters hold hands while they sleep. It keeps them from drifting apart.",
    }
    weak = {"document_id": "d3", "chunk_id": "c3", "title": "COPYING", "score": 0.1, "content": "Licence text."}
    outcome, _ = run([otters, weak], "Why do otters hold hands?")
    assert "[1] (otters.md) Sea otters hold hands while they sleep." in outcome.answer
    assert [c.document_id for c in outcome.citations] == ["d2"]
