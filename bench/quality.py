"""Benchmark: retrieval quality of the embedder (and the store) on a held question → passage set.

The corpus is ``bench/data/corpus/`` (a frozen copy of this project's own documentation: real
documents, none written for the test; the paths it names are kept to today's repository),
chunked by the service's own pipeline. The held set
``bench/data/faq_pairs.jsonl`` has questions written by hand, each with a phrase of the passage
that answers it: a chunk is relevant when it contains that phrase (compared on lower-case words).
recall@5 = the share of questions with a relevant chunk among the first five.

Measured side by side in one run: the service's embedder (ONNX Runtime, int8) and the baseline,
the same model on PyTorch through sentence-transformers (what the service used before), each for
dense retrieval alone and for the hybrid search path (the store's BM25 and dense retrievers fused
by RRF). Target: the service's recall@5 within 1 point of the baseline's (or better).

Usage::

    .venv/bin/python bench/quality.py [--check]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.rag import native  # noqa: E402,F401  -- the rag service's native import order

# isort: split
from bench.common import TorchEmbedder, service_embedder  # noqa: E402

DATA = ROOT / "bench" / "data"
TOP_K = 5
TOLERANCE = 1.0  # points of recall@5


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def pairs() -> list[dict]:
    return [json.loads(line) for line in (DATA / "faq_pairs.jsonl").read_text().splitlines() if line.strip()]


def corpus_chunks() -> list:
    from services.rag import text as mime
    from services.rag.ingestion import ChunkMeta, Indexer
    from services.rag.settings import RagSettings

    settings = RagSettings(env="development")
    indexer = Indexer(None, None, settings.rag_chunk_words, settings.rag_chunk_overlap_sentences)
    chunks = []
    for path in sorted((DATA / "corpus").iterdir()):
        meta = ChunkMeta(path.stem, "v1", "corpus", "bench", path.name, mime.MARKDOWN)
        chunks += indexer.prepare(path.read_bytes(), mime.MARKDOWN, meta)
    return chunks


def relevant(chunks: list, held: list[dict]) -> list[set[str]]:
    """For each pair, the ids of the chunks holding its answer; every pair must have one."""
    texts = {c.id: words(c.content) for c in chunks}
    found = []
    for pair in held:
        phrase = words(pair["answer"])
        ids = {i for i, t in texts.items() if phrase in t}
        if not ids:
            raise SystemExit(f"no chunk holds the answer of {pair['question']!r}: {pair['answer']!r}")
        found.append(ids)
    return found


def evaluate(embedder, chunks: list, held: list[dict], wanted: list[set[str]]) -> dict[str, float]:
    import numpy as np

    from schema.rag import SearchMode
    from services.rag.retrieval import Retriever
    from services.rag.settings import RagSettings
    from services.rag.stores import open_store

    started = time.perf_counter()
    embedded = embedder.embed_documents(chunks)
    seconds = time.perf_counter() - started
    queries = [np.asarray(embedder.embed_query(p["question"]), dtype=np.float32) for p in held]
    with tempfile.TemporaryDirectory(prefix="agenthub-quality-") as data_dir:
        store = open_store(RagSettings(env="development", data_dir=data_dir))
        try:
            store.write(embedded)
            retriever = Retriever(store, None, None)
            hits = {"dense": 0, "hybrid": 0}
            for pair, query, ids in zip(held, queries, wanted):
                for name, mode in (("dense", SearchMode.SEMANTIC), ("hybrid", SearchMode.HYBRID)):
                    found, _ = retriever._retrieve(pair["question"], query, None, TOP_K, mode)
                    hits[name] += bool(ids & {d.id for d in found[:TOP_K]})
        finally:
            store.close()
    return {
        "dense": 100 * hits["dense"] / len(held),
        "hybrid": 100 * hits["hybrid"] / len(held),
        "chunks/s": len(chunks) / seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    from rich.console import Console
    from rich.table import Table

    held, chunks = pairs(), corpus_chunks()
    wanted = relevant(chunks, held)
    service = evaluate(service_embedder(), chunks, held, wanted)
    baseline = evaluate(TorchEmbedder(), chunks, held, wanted)

    table = Table(title=f"recall@{TOP_K}: {len(held)} questions over {len(chunks)} chunks")
    for column in ("embedder", "dense", "hybrid"):
        table.add_column(column, justify="right")
    table.add_row("PyTorch float32 (baseline)", f"{baseline['dense']:.1f}", f"{baseline['hybrid']:.1f}")
    table.add_row("ONNX Runtime int8 (service)", f"{service['dense']:.1f}", f"{service['hybrid']:.1f}")
    console = Console()
    console.print(table)
    worst = min(service[k] - baseline[k] for k in ("dense", "hybrid"))
    verdict = "PASS" if worst >= -TOLERANCE else "MISS"
    console.print(f"recall@{TOP_K} service − baseline = {worst:+.1f} points (target ≥ −{TOLERANCE})  {verdict}")
    return 1 if args.check and verdict == "MISS" else 0


if __name__ == "__main__":
    raise SystemExit(main())
