"""Benchmark: ingestion throughput through the gateway against the raw embedder.

The gateway and the rag service run as real processes on their own RabbitMQ
vhost. This process submits ``--documents`` texts with ``ingestText`` and polls
``ingestionJob`` until every job is DONE: chunks per second from the first
submission to the last DONE. Baseline in the same run, on the same chunks: the
service's embedding model alone in this process (ONNX Runtime int8, same batch
size), chunks per second; beside it the same model on PyTorch, as the service
ran it before (target: ONNX at least 2x). The ratio is the share of the raw embedding
speed the whole pipeline keeps (queue, conversion, splitting, writing,
progress, RPC); target at least 0.8.

Usage::

    .venv/bin/python bench/ingest.py [--documents 12] [--kib 24] [--check]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from services.rag import native  # noqa: E402,F401  -- the rag service's native import order
from core.settings import CommonSettings  # noqa: E402
from core.tokens import TokenCodec  # noqa: E402
from bench.common import TorchEmbedder, free_port, service_embedder, wait_ready  # noqa: E402
from tests.support.accounts import mark_revocations_published  # noqa: E402
from tests.support.stack import Isolation, ServiceProcess  # noqa: E402

TARGET = 0.8
EMBEDDER_TARGET = 2.0
WORDS = ("river stone harbour lantern orchard meadow copper signal winter garden engine valley thunder letter "
         "compass bridge cellar market violin shadow canyon feather glacier pepper saddle timber").split()
INGEST = "mutation($i: IngestTextInput!) { ingestText(input: $i) { id } }"
JOB = "query($id: ID!) { ingestionJob(id: $id) { status chunkCount error } }"


def texts(count: int, size: int) -> list[str]:
    rng = random.Random(11)
    documents = []
    for n in range(count):
        sentences, total = [], 0
        while total < size:
            sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 22))).capitalize() + "."
            sentences.append(sentence)
            total += len(sentence) + 1
        documents.append(f"Document {n}. " + " ".join(sentences))
    return documents


def raw_embedder_rates(documents: list[str]) -> tuple[int, float, float]:
    """Chunks/s of the service's embedder and of the PyTorch baseline alone, on the chunks the
    service makes of ``documents``."""
    from services.rag.ingestion import ChunkMeta, Indexer
    from services.rag.settings import RagSettings

    settings = RagSettings(env="development")
    indexer = Indexer(None, None, settings.rag_chunk_words, settings.rag_chunk_overlap_sentences)
    chunks = []
    for n, text in enumerate(documents):
        meta = ChunkMeta(f"d{n}", "v", "c", "o", f"doc-{n}.txt", "text/plain")
        chunks += indexer.prepare(text.encode(), "text/plain", meta)
    rates = []
    for embedder in (service_embedder(settings.rag_embed_batch), TorchEmbedder(settings.rag_embed_batch)):
        embedder.embed_documents(chunks[:settings.rag_embed_batch])  # warm up
        started = time.perf_counter()
        for start in range(0, len(chunks), settings.rag_embed_batch):
            embedder.embed_documents(chunks[start:start + settings.rag_embed_batch])
        rates.append(len(chunks) / (time.perf_counter() - started))
    return len(chunks), rates[0], rates[1]


async def through_gateway(base: str, headers: dict, documents: list[str]) -> tuple[int, float]:
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
        started = time.perf_counter()
        jobs = []
        for n, text in enumerate(documents):
            reply = (await client.post("/graphql", json={"query": INGEST, "variables": {
                "i": {"title": f"doc-{n}.txt", "text": text}}})).json()
            if reply.get("errors"):
                raise RuntimeError(f"ingestText failed: {reply['errors']}")
            jobs.append(reply["data"]["ingestText"]["id"])
        # Jobs run in submission order, so only the oldest unfinished one is polled:
        # a few light requests a second, instead of polling every job, which took
        # a fifth of a core from the pipeline being measured.
        chunks, pending = 0, list(jobs)
        while pending:
            job = (await client.post("/graphql", json={"query": JOB, "variables": {"id": pending[0]}})).json()
            job = job["data"]["ingestionJob"]
            if job["status"] == "FAILED":
                raise RuntimeError(f"job {pending[0]} failed: {job['error']}")
            if job["status"] == "DONE":
                chunks += job["chunkCount"]
                pending.pop(0)
                continue
            await asyncio.sleep(0.1)
        return chunks, chunks / (time.perf_counter() - started)


async def run(args) -> int:
    documents = texts(args.documents, args.kib * 1024)
    isolation = Isolation(data_dir=Path(tempfile.mkdtemp(prefix="agenthub-bench-ingest-"))).create()
    mark_revocations_published(isolation.redis_prefix)  # no auth service in this stack
    env = dict(AGENTHUB_RATE_LIMIT_AUTHENTICATED="1000000/minute", AGENTHUB_LOG_LEVEL="WARNING")
    rag, gateway = None, None
    try:
        rag = ServiceProcess(isolation, "services.rag.service", "rag", **env)
        port = free_port()
        gateway = subprocess.Popen([sys.executable, "-m", "agenthub", "gateway", "--port", str(port)],
                                   env=isolation.env(**env), cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        rag.wait_until_consuming(timeout=300)
        base = f"http://127.0.0.1:{port}"
        await wait_ready(base, path="/healthz")
        token = TokenCodec(CommonSettings(env="development")).issue(
            subject="bench-ingester", role="user", session_id=uuid.uuid4().hex, ttl=3600).token
        served_chunks, served_rate = await through_gateway(base, {"authorization": f"Bearer {token}"}, documents)
    finally:
        if rag is not None:
            rag.stop()
        if gateway is not None:
            gateway.terminate()
            gateway.wait(timeout=15)
        isolation.destroy()
    # after the stack stopped: the cores are theirs alone
    raw_chunks, raw_rate, torch_rate = raw_embedder_rates(documents)

    table = Table(title=f"Ingestion of {args.documents} texts of {args.kib} KiB")
    for column in ("path", "chunks", "chunks/s"):
        table.add_column(column, justify="right")
    table.add_row("gateway → rag job → DONE", f"{served_chunks}", f"{served_rate:.1f}")
    table.add_row("raw embedder (ONNX int8), same chunks", f"{raw_chunks}", f"{raw_rate:.1f}")
    table.add_row("PyTorch embedder (before), same chunks", f"{raw_chunks}", f"{torch_rate:.1f}")
    console = Console()
    console.print(table)
    ratio = served_rate / raw_rate
    verdict = "PASS" if ratio >= TARGET else "MISS"
    console.print(f"pipeline / raw embedder = {ratio:.2f}  (target ≥ {TARGET})  {verdict}")
    speedup = raw_rate / torch_rate
    console.print(f"raw embedder / PyTorch = {speedup:.2f}  (target ≥ {EMBEDDER_TARGET})  "
                  f"{'PASS' if speedup >= EMBEDDER_TARGET else 'MISS'}")
    return 1 if args.check and (ratio < TARGET or speedup < EMBEDDER_TARGET) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=12)
    parser.add_argument("--kib", type=int, default=24)
    parser.add_argument("--check", action="store_true")
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
