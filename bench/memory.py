"""Benchmark: the RSS of every process of the stack after ingesting 10 documents.

The three services (``nameko run``) and ``agenthub gateway`` run as real
processes on their own RabbitMQ vhost and data directory. This process signs a
user in, submits ``--documents`` texts with ``ingestText``, waits until every job
is DONE, runs ``--searches`` hybrid searches and one ``ask``, then prints each
process's resident set size (psutil; the process and its children, e.g. the
agent's model worker, are counted together) and what the rag process imported
of the heavy libraries (PyTorch must not be there).

Targets (issue 14): the whole stack under 1 GB, rag under 600 MB.

Usage::

    .venv/bin/python bench/memory.py [--documents 10] [--kib 24] [--searches 20] [--check]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.common import wait_ready  # noqa: E402
from tests.support.gateway import GatewayProcess  # noqa: E402
from tests.support.stack import Isolation, ServiceProcess  # noqa: E402

STACK_TARGET_MB = 1024
RAG_TARGET_MB = 600
INGEST = "mutation($i: IngestTextInput!) { ingestText(input: $i) { id } }"
JOB = "query($id: ID!) { ingestionJob(id: $id) { status error } }"
SEARCH = "query($q: String!) { search(query: $q, topK: 5) { chunkId } }"
ASK = "query($q: String!) { ask(question: $q) { answer } }"
WORDS = (
    "river stone harbour lantern orchard meadow copper signal winter garden engine valley thunder letter "
    "compass bridge cellar market violin shadow canyon feather glacier pepper saddle timber"
).split()


def texts(count: int, size: int) -> list[str]:
    rng = random.Random(5)
    documents = []
    for n in range(count):
        sentences, total = [], 0
        while total < size:
            sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 22))).capitalize() + "."
            sentences.append(sentence)
            total += len(sentence) + 1
        documents.append(f"Document {n}. " + " ".join(sentences))
    return documents


async def gql(client: httpx.AsyncClient, query: str, variables: dict) -> dict:
    reply = (await client.post("/graphql", json={"query": query, "variables": variables})).json()
    if reply.get("errors"):
        raise RuntimeError(f"request failed: {reply['errors']}")
    return reply["data"]


async def sign_in(base: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        credentials = {"username": "bench_memory", "password": "correct horse battery"}
        await gql(client, "mutation($i: RegisterInput!) { register(input: $i) { id } }", {"i": credentials})
        data = await gql(client, "mutation($i: LoginInput!) { login(input: $i) { accessToken } }", {"i": credentials})
        return data["login"]["accessToken"]


async def workload(base: str, token: str, documents: list[str], searches: int) -> None:
    async with httpx.AsyncClient(base_url=base, headers={"authorization": f"Bearer {token}"}, timeout=300) as client:
        jobs = [
            (await gql(client, INGEST, {"i": {"title": f"doc-{n}.txt", "text": text}}))["ingestText"]["id"]
            for n, text in enumerate(documents)
        ]
        deadline = time.monotonic() + 1800
        while jobs:
            job = (await gql(client, JOB, {"id": jobs[0]}))["ingestionJob"]
            if job["status"] == "FAILED":
                raise RuntimeError(f"job failed: {job['error']}")
            if job["status"] == "DONE":
                jobs.pop(0)
                continue
            if time.monotonic() > deadline:
                raise TimeoutError("ingestion did not finish in 30 minutes")
            await asyncio.sleep(0.5)
        for n in range(searches):
            await gql(client, SEARCH, {"q": " ".join(random.Random(n).choices(WORDS, k=3))})
        await gql(client, ASK, {"q": "where is the copper lantern?"})


def rss_mb(pid: int) -> float:
    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def heavy_imports(pid: int) -> str:
    """Which heavy native libraries the process has mapped (from /proc/PID/maps)."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return "?"
    names = {"torch": "libtorch", "onnxruntime": "onnxruntime", "tantivy": "tantivy", "usearch": "usearch"}
    return ", ".join(name for name, marker in names.items() if marker in maps) or "-"


async def run(args) -> int:
    isolation = Isolation(data_prefix="agenthub-bench-memory-").create()
    env = dict(
        AGENTHUB_RATE_LIMIT_AUTHENTICATED="1000000/minute",
        AGENTHUB_RATE_LIMIT_ANONYMOUS="1000000/minute",
        AGENTHUB_LOG_LEVEL="WARNING",
    )
    services: dict[str, ServiceProcess] = {}
    gateway, sizes, total = None, {}, 0.0
    console = Console()
    try:
        for name in ("auth", "agent", "rag"):
            services[name] = ServiceProcess(isolation, f"services.{name}.service", name, **env)
        gateway = GatewayProcess(isolation, **env)
        port = gateway.port
        for process in services.values():
            process.wait_until_consuming(timeout=300)
        base = f"http://127.0.0.1:{port}"
        await wait_ready(base)
        started = time.perf_counter()
        await workload(base, await sign_in(base), texts(args.documents, args.kib * 1024), args.searches)
        console.print(
            f"[dim]{args.documents} documents ingested, {args.searches} searches and one ask in "
            f"{time.perf_counter() - started:.0f} s[/]"
        )
        pids = {name: process.process.pid for name, process in services.items()} | {"gateway": gateway.process.pid}
        sizes = {name: rss_mb(pid) for name, pid in pids.items()}
        table = Table(title=f"RSS after ingesting {args.documents} documents of {args.kib} KiB")
        for column in ("process", "RSS MB", "native libraries mapped"):
            table.add_column(column, justify="right" if column == "RSS MB" else "left")
        for name, size in sizes.items():
            table.add_row(name, f"{size:.0f}", heavy_imports(pids[name]))
        total = sum(sizes.values())
        table.add_row("whole stack", f"{total:.0f}", "")
        console.print(table)
    finally:
        if gateway is not None:
            gateway.stop()
        for process in services.values():
            process.stop()
        isolation.destroy()
    ok_stack, ok_rag = total < STACK_TARGET_MB, sizes["rag"] < RAG_TARGET_MB
    console.print(
        f"whole stack RSS = {total:.0f} MB  (target < {STACK_TARGET_MB} MB)  {'PASS' if ok_stack else 'MISS'}"
    )
    console.print(f"rag RSS = {sizes['rag']:.0f} MB  (target < {RAG_TARGET_MB} MB)  {'PASS' if ok_rag else 'MISS'}")
    return 1 if args.check and not (ok_stack and ok_rag) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10)
    parser.add_argument("--kib", type=int, default=24)
    parser.add_argument("--searches", type=int, default=20)
    parser.add_argument("--check", action="store_true")
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
