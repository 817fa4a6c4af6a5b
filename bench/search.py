"""Benchmark: hybrid search latency through the gateway at 1k, 10k and 50k chunks.

The gateway and the rag service run as real processes on their own RabbitMQ
vhost and data directory. Before each size the rag service is stopped, the
embedded store and catalog in its data directory are filled up to that many
chunks (half of them the searching user's, half other users' private ones, so
the access filter has work to do), and the service is started again (it opens
the store from disk; the time the store takes to open is measured apart,
without the service's own start-up). Chunk texts are drawn from a Zipf-like vocabulary and
their embeddings are random unit vectors: embedding 50k chunks for real would
take ten minutes and does not change what a search costs. Queries are embedded
for real (each query string is new, so no cache hit).

Baseline in the same run: ``{ __typename }`` through the same gateway, so the
table separates the gateway/RPC cost from the search itself. Targets: hybrid
p50 ≤ 100 ms at 10k chunks, ≤ 15 ms at 50k, ≤ 50 ms at 1M; the store opens
with 1M chunks in under 10 s. Per size it also prints the CPU milliseconds one
search costs the rag process and the gateway (what a busy machine does not
change much, unlike the latencies) and both processes' RSS.

Usage::

    .venv/bin/python bench/search.py [--sizes 1000,10000,50000] [--queries 200] [--check]
        [--data-dir DIR]

``--data-dir DIR`` keeps each size's filled store in ``DIR/<size>`` and reuses
it in the next run (a 1M-chunk fill took 13 min on 2 cores on 2026-12-06, at nice 19
beside other work; 50k about a minute); without it temporary directories are filled and removed. Without
``--sizes`` the sizes are 1k, 10k and 50k, plus 1M when ``DIR/1000000`` already
holds a filled store: ``bench/all.py`` keeps its stores in ``var/bench-search``,
so after one ``bench/search.py --sizes 1000000 --data-dir var/bench-search``
every ``make bench`` measures 1M too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.common import wait_ready  # noqa: E402
from core.settings import CommonSettings  # noqa: E402
from core.tokens import TokenCodec  # noqa: E402
from tests.support.accounts import mark_revocations_published  # noqa: E402
from tests.support.gateway import GatewayProcess  # noqa: E402
from tests.support.stack import Isolation, ServiceProcess  # noqa: E402

TARGETS_MS = {10_000: 100.0, 50_000: 15.0, 1_000_000: 50.0}  # hybrid p50 through the gateway
DEFAULT_SIZES = "1000,10000,50000"
OPEN_TARGET_S = 10.0  # the store opening with 1M chunks
CHUNKS_PER_DOCUMENT = 10
USER = "bench-searcher"
VOCABULARY = [
    f"{a}{b}"
    for a in (
        "har",
        "lan",
        "mer",
        "cop",
        "sig",
        "win",
        "gar",
        "eng",
        "val",
        "thu",
        "let",
        "com",
        "bri",
        "cel",
        "mar",
        "vio",
        "sha",
        "can",
        "fea",
        "gla",
    )
    for b in (
        "bor",
        "tern",
        "dow",
        "per",
        "nal",
        "ter",
        "den",
        "ine",
        "ley",
        "nder",
        "ter",
        "pass",
        "dge",
        "lar",
        "ket",
        "lin",
        "dow",
        "yon",
        "ther",
        "cier",
    )
]
WEIGHTS = [1 / (rank + 1) for rank in range(len(VOCABULARY))]
QUERY = "query($q: String!) { search(query: $q, topK: 5) { chunkId documentId score } }"


def fill_store(data_dir: Path, upto: int, rng: random.Random) -> tuple[int, float]:
    """Add documents of synthetic chunks to the catalog and the store until there are ``upto`` chunks,
    5,000 at a time; then the seconds the store takes to open again (the service's start-up share)."""
    from haystack import Document

    from services.rag.catalog import Catalog, DocumentRow, make_engine
    from services.rag.stores.embedded import EmbeddedStore

    rag_dir = data_dir / "rag"
    rag_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(make_engine(f"sqlite:///{rag_dir / 'catalog.sqlite3'}"))
    store = EmbeddedStore(rag_dir / "chunks")
    try:
        present = store.count()
        owners = {owner: catalog.default_collection(owner).id for owner in (USER, "bench-other")}
        while present < upto:
            rows, chunks = [], []
            while present + len(chunks) < upto and len(chunks) < 5000:
                owner = USER if rng.random() < 0.5 else "bench-other"
                document_id = uuid.uuid4().hex
                rows.append(
                    DocumentRow(
                        id=document_id,
                        owner_id=owner,
                        collection_id=owners[owner],
                        source=f"{document_id}.txt",
                        title=f"synthetic {document_id[:6]}",
                        mime_type="text/plain",
                        size_bytes=0,
                        content_hash=document_id * 2,
                        version="v1",
                        chunk_count=CHUNKS_PER_DOCUMENT,
                        status="READY",
                        meta={},
                    )
                )
                vectors = np.random.default_rng(rng.randrange(1 << 30)).normal(size=(CHUNKS_PER_DOCUMENT, 384))
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                for index in range(CHUNKS_PER_DOCUMENT):
                    text = " ".join(rng.choices(VOCABULARY, WEIGHTS, k=90)) + "."
                    chunks.append(
                        Document(
                            id=f"{document_id}-v1-{index}",
                            content=text,
                            embedding=vectors[index],
                            meta={
                                "document_id": document_id,
                                "version": "v1",
                                "collection_id": owners[owner],
                                "owner_id": owner,
                                "title": rows[-1].title,
                                "mime_type": "text/plain",
                                "chunk_index": index,
                                "user": {},
                            },
                        )
                    )
            with catalog.sessions.begin() as session:
                session.add_all(rows)
            store.write(chunks)
            present += len(chunks)
    finally:
        store.close()
        catalog.close()
    started = time.perf_counter()
    store = EmbeddedStore(rag_dir / "chunks")
    opened = time.perf_counter() - started
    total = store.count()
    store.close()
    return total, opened


def cpu_seconds(*processes: psutil.Process) -> list[float]:
    return [sum(p.cpu_times()[:2]) for p in processes]


async def latencies(base: str, body_for, headers: dict, count: int) -> list[float]:
    timings = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        for n in range(count):
            started = time.perf_counter()
            reply = (await client.post("/graphql", json=body_for(n))).json()
            timings.append((time.perf_counter() - started) * 1000)
            if reply.get("errors"):
                raise RuntimeError(f"benchmark request failed: {reply['errors']}")
    return timings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(args) -> int:
    keep = args.data_dir is not None
    sizes = [int(s) for s in (args.sizes or DEFAULT_SIZES).split(",")]
    if args.sizes is None and keep and (Path(args.data_dir) / "1000000" / "rag" / "chunks").is_dir():
        sizes.append(1_000_000)
    # a --data-dir is the caller's and stays; without one the isolation makes its own and removes it
    isolation = Isolation(data_dir=Path(args.data_dir) if keep else None, data_prefix="agenthub-bench-search-").create()
    data_dir = isolation.data_dir
    mark_revocations_published(isolation.redis_prefix)  # no auth service in this stack
    env = dict(
        AGENTHUB_RATE_LIMIT_AUTHENTICATED="1000000/minute",
        AGENTHUB_RATE_LIMIT_ANONYMOUS="1000000/minute",
        AGENTHUB_LOG_LEVEL="WARNING",
    )
    rng = random.Random(42)
    rag, gateway, results = None, None, []
    console = Console()
    try:
        gateway = GatewayProcess(isolation, **env)
        port = gateway.port
        base = f"http://127.0.0.1:{port}"
        await wait_ready(base, path="/healthz")
        token = (
            TokenCodec(CommonSettings(env="development"))
            .issue(subject=USER, role="user", session_id=uuid.uuid4().hex, ttl=3600)
            .token
        )
        headers = {"authorization": f"Bearer {token}"}
        for size in sizes:
            if rag is not None:
                rag.stop()
            started = time.perf_counter()
            size_dir = data_dir / str(size)
            total, opened = fill_store(size_dir, size, rng)
            console.print(
                f"[dim]{total:,} chunks in the store ({time.perf_counter() - started:.0f} s to fill, "
                f"{opened:.1f} s to open)[/]"
            )
            rag = ServiceProcess(
                isolation, "services.rag.service", "rag", AGENTHUB_DATA_DIR=str(size_dir), **env
            ).wait_until_consuming(timeout=600)
            await latencies(base, lambda n: {"query": QUERY, "variables": {"q": f"warm {n}"}}, headers, 10)
            processes = (psutil.Process(rag.process.pid), psutil.Process(gateway.process.pid))
            trivial = await latencies(base, lambda n: {"query": "{ __typename }"}, headers, args.queries)
            salt = uuid.uuid4().hex[:6]  # new query strings in every run: no cached embedding

            def words(n: int, salt: str = salt) -> str:
                return " ".join(random.Random(n).choices(VOCABULARY, k=3)) + f" {salt}{n}"

            before = cpu_seconds(*processes)
            search = await latencies(
                base, lambda n, size=size: {"query": QUERY, "variables": {"q": words(n + size)}}, headers, args.queries
            )
            cpu = [(b - a) * 1000 / args.queries for a, b in zip(before, cpu_seconds(*processes))]
            rss = [p.memory_info().rss / 2**20 for p in processes]
            results.append((total, trivial, search, opened, rss, cpu))
    finally:
        if rag is not None:
            rag.stop()
        if gateway is not None:
            gateway.stop()
        isolation.destroy()

    load = os.getloadavg()
    table = Table(
        title=f"Hybrid search through the gateway, {args.queries} sequential queries per size "
        f"(load average {load[0]:.1f})"
    )
    for column in (
        "chunks",
        "trivial p50 ms",
        "search p50 ms",
        "search p99 ms",
        "search / trivial (p50)",
        "p50 growth vs first size",
        "CPU ms per search rag / gateway",
        "store opens in s",
        "RSS MB rag / gateway",
    ):
        table.add_column(column, justify="right")
    first_p50 = statistics.median(results[0][2])
    missed = False
    verdicts = []
    for total, trivial, search, opened, rss, cpu in results:
        p50 = statistics.median(search)
        table.add_row(
            f"{total:,}",
            f"{statistics.median(trivial):.1f}",
            f"{p50:.1f}",
            f"{percentile(search, 0.99):.1f}",
            f"{p50 / statistics.median(trivial):.1f}×",
            f"{p50 / first_p50:.2f}×",
            f"{cpu[0]:.1f} / {cpu[1]:.1f}",
            f"{opened:.1f}",
            f"{rss[0]:.0f} / {rss[1]:.0f}",
        )
        if total in TARGETS_MS:
            ok = p50 <= TARGETS_MS[total]
            missed |= not ok
            verdicts.append(
                f"p50 at {total:,} chunks = {p50:.1f} ms  (target ≤ {TARGETS_MS[total]:.0f} ms)  "
                f"{'PASS' if ok else 'MISS'}"
            )
        if total >= 1_000_000:
            ok = opened < OPEN_TARGET_S
            missed |= not ok
            verdicts.append(
                f"store opens with {total:,} chunks in {opened:.1f} s  (target < {OPEN_TARGET_S:.0f} s)  "
                f"{'PASS' if ok else 'MISS'}"
            )
    console.print(table)
    for line in verdicts:
        console.print(line)
    return 1 if args.check and missed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=None, help=f"comma-separated chunk counts (default {DEFAULT_SIZES})")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--data-dir", default=None, help="keep each size's store in DIR/<size> for the next run")
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
