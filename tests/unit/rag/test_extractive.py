"""Extractive passages: best first, whole sentences around the match, no repeats."""

from __future__ import annotations

from services.rag.answers import best_span, rank_passages
from services.rag.retrieval import Hit

LONG = (
    "Otters live in rivers. " * 12 + "Sea otters hold hands while they sleep so they do not drift apart. "
    "They also keep a favourite stone in a pouch. " + "Rivers flow to the sea. " * 12
)


def hit(chunk: str, content: str, similarity: float) -> Hit:
    return Hit(
        chunk_id=chunk,
        document_id=f"d-{chunk}",
        title=f"{chunk}.md",
        content=content,
        score=similarity,
        similarity=similarity,
    )


def test_the_passage_is_whole_sentences_around_the_match():
    passage, coverage = best_span(LONG, "Why do sea otters hold hands?", limit=200)
    assert passage.startswith("…") and passage.endswith("…")
    body = passage.strip("…")
    assert body.startswith("Sea otters hold hands") or body.split(". ", 1)[1].startswith("Sea otters hold hands")
    assert body.endswith(".") and len(body) <= 200
    assert coverage == 1.0


def test_a_heading_line_stays_with_its_text():
    passage, _ = best_span("dialout\nFull and direct access to serial ports.\ndip\nDialup IP.", "What is dialout for?")
    assert passage.startswith("dialout Full and direct access to serial ports.")


def test_passages_come_best_first_and_repeats_are_left_out():
    best = hit("b", "Sea otters hold hands while they sleep so they do not drift apart.", 0.69)
    overlap = hit(
        "o", "Sea otters hold hands while they sleep so they do not drift apart. Pups sleep on their mothers.", 0.66
    )
    other = hit("x", "Otters are mustelids, like weasels and badgers.", 0.64)
    ranked = rank_passages("Why do otters hold hands?", [other, overlap, best])
    assert [h.chunk_id for h, _ in ranked] == ["b", "x"]
