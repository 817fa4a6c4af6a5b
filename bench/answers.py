"""Extractive answers over real documents: is the first cited passage the one with the answer?

``python -m bench.answers [--set tune|held|all] [--verbose]`` ingests the pages under
``tests/data/docs`` into a rag ``Library`` on a temporary data directory (real embedder and store;
Redis on ``$AGENTHUB_TEST_REDIS_URL`` under its own prefix, removed at the end), asks every question
of ``bench/data/questions.json`` with no language model (``mode: EXTRACTIVE``, the default
settings) and reports:

- first-answer-correct: the first citation's snippet contains the expected phrase;
- unrelated questions answered "nothing relevant" (the relevance floor);
- the median answer length in characters.

``tune`` questions were used while changing the answer code; ``held`` ones were not. Run it with
another checkout's code first on ``PYTHONPATH`` to get a "before" figure from the same questions.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "tests" / "data" / "docs"
QUESTIONS = ROOT / "bench" / "data" / "questions.json"


def normalised(text: str) -> str:
    return " ".join(text.replace("…", " ").lower().split())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=["tune", "held", "all"], default="all")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import redis

    from schema.models import Identity
    from schema.permissions import permissions_of
    from schema.rag import AskInput, UploadInput
    from services.rag.dependencies import build_library
    from services.rag.settings import RagSettings

    questions = json.loads(QUESTIONS.read_text())
    sets = ["tune", "held"] if args.set == "all" else [args.set]
    client = redis.Redis.from_url(os.environ.get("AGENTHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    prefix = f"bench-answers-{uuid.uuid4().hex[:8]}:"
    user = Identity(
        user_id="bench",
        username="bench",
        role="user",
        permissions=frozenset(p.value for p in permissions_of("user")),
        session_id="s-bench",
    )
    with tempfile.TemporaryDirectory() as data_dir:
        settings = RagSettings(env="development", data_dir=Path(data_dir), redis_prefix=prefix, rag_cache_ttl=0)
        jobs: list[str] = []
        library = build_library(settings, client, wake=jobs.append)
        try:
            started = time.perf_counter()
            for page in sorted(DOCS.glob("*.html")):
                library.submission.upload(
                    user, UploadInput(filename=page.name, content_base64=base64.b64encode(page.read_bytes()).decode())
                )
            while jobs:
                library.worker.run_job(jobs.pop(0))
            print(f"ingested {len(list(DOCS.glob('*.html')))} pages in {time.perf_counter() - started:.1f} s")
            lengths = []
            for name in sets:
                correct = 0
                for item in questions[name]:
                    answer = library.reads.ask(user, AskInput(question=item["q"]))
                    first = answer.citations[0].snippet if answer.citations else ""
                    expected = item["expect"] if isinstance(item["expect"], list) else [item["expect"]]
                    ok = any(normalised(phrase) in normalised(first) for phrase in expected)
                    correct += ok
                    lengths.append(len(answer.answer))
                    if args.verbose or not ok:
                        print(f"  {'ok  ' if ok else 'MISS'} {item['q']}\n       [1] {first[:300]!r}")
                print(f"{name}: first-answer-correct {correct}/{len(questions[name])}")
            floor = 0
            for item in questions["unrelated"]:
                answer = library.reads.ask(user, AskInput(question=item["q"]))
                floor += not answer.citations
                if answer.citations and (args.verbose or True):
                    print(
                        f"  CITED for unrelated {item['q']!r}: {answer.citations[0].snippet[:120]!r} "
                        f"({answer.citations[0].score})"
                    )
            print(f"unrelated: nothing relevant {floor}/{len(questions['unrelated'])}")
            print(f"median answer length: {statistics.median(lengths):.0f} chars")
        finally:
            library.store.close()
            library.catalog.close()
            keys = list(client.scan_iter(f"{prefix}*"))
            if keys:
                client.delete(*keys)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
