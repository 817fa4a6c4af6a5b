"""Benchmark: ingestion throughput through the gateway against the raw embedder.

The gateway and the rag service run as real processes on their own RabbitMQ
vhost. This process submits ``--documents`` texts with ``ingestText`` and watches
the jobs until every one is DONE: chunks per second from the first submission to
the last DONE seen. By default (``--watch subscription``) it watches as a web
client does, with the ``ingestionProgress`` subscription over one WebSocket (the
oldest unfinished job at a time), which the gateway wakes when rag announces a
change; ``--watch paced`` or ``every`` poll ``ingestionJob`` instead (see
``through_gateway``). Baseline in the same run, on the same chunks: the service's
embedding model alone in this process, configured as the service configures it
(ONNX Runtime int8, same batch size, one lane per core: as many threads each
embedding the next batch), chunks per second; beside it, not the baseline, the
same threads as one batch at a time (the service's configuration before
2026-12-06), and the same model on PyTorch, as the service ran it before (target:
ONNX at least 2x).

The pipeline runs ``--rounds`` times (3), each time the same texts as another
user's new documents, and the raw embedder runs before the first round and after
each, on the idle stack (its share of the CPU meanwhile is printed). Each round's
ratio is its chunks/s over the mean of the raw runs just before and after it, and
the verdict is the median of the rounds' ratios: the speed of the raw embedder on
these shared hosts moves by 10-20 % within a minute (152 then 193 chunks/s, one
run before and one after the stack, on 2026-12-07), and one round against raw
runs a minute apart measured that drift as much as the pipeline. The ratio is the
share of the raw embedding speed the whole pipeline keeps (queue, conversion,
splitting, writing, progress, RPC); target at least 0.9.

Where the time goes: the rag process counts seconds per ingestion stage
(``agenthub_rag_ingest_stage_seconds_total``, scraped from its metrics port):
claim (taking a job in SQL), convert (convert + split), embed (the embedder's lanes
busy, summed), embed_cpu (the CPU of that embedding, in the lanes' threads),
write (the store), finish (progress, activation, the job's end). Stages overlap
(the next file is prepared while batches embed), so they are shown against the
wall time; "lanes idle" is the lanes × wall time they had nothing to do. Then the
CPU per chunk of each process, the machine's CPU per job beyond the embedding
itself (what the pipeline adds: once the cores are full, each of its milliseconds
is one the embedder does not get), and what the client's status polls cost
(measured after the run on the idle stack).

Usage::

    .venv/bin/python bench/ingest.py [--documents 12] [--kib 24] [--rounds 3]
        [--watch subscription|paced|every] [--check]
"""

from __future__ import annotations

import argparse
import asyncio
import json
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

from services.rag import native  # noqa: E402,F401  -- the rag service's native import order

# isort: split
import httpx  # noqa: E402
import psutil  # noqa: E402
import websockets  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.common import TorchEmbedder, service_embedder, wait_ready  # noqa: E402
from core.settings import CommonSettings  # noqa: E402
from core.tokens import TokenCodec  # noqa: E402
from tests.support.accounts import mark_revocations_published  # noqa: E402
from tests.support.gateway import GatewayProcess  # noqa: E402
from tests.support.stack import Isolation, ServiceProcess, free_port  # noqa: E402

TARGET = 0.9
STAGES = ("claim", "convert", "embed", "embed_cpu", "write", "finish")
EMBEDDER_TARGET = 2.0
WORDS = (
    "river stone harbour lantern orchard meadow copper signal winter garden engine valley thunder letter "
    "compass bridge cellar market violin shadow canyon feather glacier pepper saddle timber"
).split()
INGEST = "mutation($i: IngestTextInput!) { ingestText(input: $i) { id } }"
JOB = "query($id: ID!) { ingestionJob(id: $id) { status chunkCount error } }"
PROGRESS = "subscription($id: ID!) { ingestionProgress(jobId: $id) { status chunkCount error } }"


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


def service_chunks(documents: list[str]) -> list:
    """The chunks the service makes of ``documents``."""
    from services.rag.ingestion import ChunkMeta, Indexer
    from services.rag.settings import RagSettings

    settings = RagSettings(env="development")
    indexer = Indexer(None, None, settings.rag_chunk_words, settings.rag_chunk_overlap_sentences)
    chunks = []
    for n, text in enumerate(documents):
        meta = ChunkMeta(f"d{n}", "v", "c", "o", f"doc-{n}.txt", "text/plain")
        chunks += indexer.prepare(text.encode(), "text/plain", meta)
    return chunks


def embedding_rate(embedder, chunks: list, batch: int) -> tuple[float, float]:
    """Chunks/s of ``embedder`` alone on ``chunks``, in batches of ``batch``, and its CPU seconds per chunk.

    As the service runs it: ``embedder.lanes`` threads each embed the next batch (one thread: one
    batch after another)."""
    import threading

    batches = [chunks[start : start + batch] for start in range(0, len(chunks), batch)]
    lanes = getattr(embedder, "lanes", 1)  # PyTorch: one call at a time, on its own threads
    for _ in range(lanes):
        embedder.embed_documents(chunks[:batch])  # warm up
    lock = threading.Lock()

    def lane() -> None:
        while True:
            with lock:
                if not batches:
                    return
                taken = batches.pop(0)
            embedder.embed_documents(taken)

    started, cpu = time.perf_counter(), time.process_time()
    threads = [threading.Thread(target=lane) for _ in range(lanes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(chunks) / (time.perf_counter() - started), (time.process_time() - cpu) / len(chunks)


def int8_instructions() -> str:
    """What this CPU multiplies int8 with: the int8 model's speed against PyTorch's float32 depends
    on it (on this machine kind, 1.7x on a host with AVX2 alone, 2.6-4.4x on hosts with AVX-512;
    bench/README.md)."""
    try:
        with open("/proc/cpuinfo") as info:
            flags = set(next((line for line in info if line.startswith("flags")), "").split())
    except OSError:
        return "unknown"
    for flag, name in (
        ("amx_int8", "AMX"),
        ("avx512_vnni", "AVX-512 VNNI"),
        ("avx_vnni", "AVX-VNNI"),
        ("avx512bw", "AVX-512, no VNNI"),
        ("avx2", "AVX2, no VNNI"),
    ):
        if flag in flags:
            return name
    return "no AVX2"


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each named process (with its children), and by the whole machine."""
    used = {}
    for name, pid in pids.items():
        try:
            process = psutil.Process(pid)
            children = process.children(recursive=True) if pid != os.getpid() else []  # ours: rag, gateway
            times = [process.cpu_times()] + [c.cpu_times() for c in children]
        except psutil.Error:
            times = []
        used[name] = sum(t.user + t.system for t in times)
    total = psutil.cpu_times()
    used["machine"] = total.user + total.nice + total.system + total.irq + total.softirq + total.steal
    return used


def stage_seconds(metrics_url: str) -> dict[str, float]:
    """Seconds per ingestion stage, from the rag process's metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(metrics_url, timeout=10).text
    seconds = dict.fromkeys(STAGES, 0.0)
    seconds["chunks embedded"] = 0.0
    for family in text_string_to_metric_families(text):
        if family.name == "agenthub_rag_ingest_stage_seconds":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    seconds[sample.labels["stage"]] = sample.value
        if family.name == "agenthub_chunks_embedded":
            seconds["chunks embedded"] = sum(s.value for s in family.samples if s.name.endswith("_total"))
    return seconds


async def poll_cost(base: str, headers: dict, job_id: str, pids: dict[str, int], polls: int = 60) -> dict[str, float]:
    """CPU seconds one status poll costs each process (and the machine), measured on an idle stack
    after the run: ``polls`` polls of an ended job, one after another."""
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
        await client.post("/graphql", json={"query": JOB, "variables": {"id": job_id}})
        before = cpu_seconds(pids)
        for _ in range(polls):
            await client.post("/graphql", json={"query": JOB, "variables": {"id": job_id}})
        return {name: (used - before[name]) / polls for name, used in cpu_seconds(pids).items()}


async def subscribed(base: str, headers: dict, jobs: list[str]) -> tuple[int, int]:
    """Chunks of ``jobs`` once every one is DONE, watched as a web client watches them: the
    ``ingestionProgress`` subscription, over one WebSocket, of the oldest unfinished job (jobs run
    in submission order), the next one once it is DONE; and the updates received."""
    chunks = updates = 0
    async with websockets.connect(
        base.replace("http", "ws", 1) + "/graphql", subprotocols=["graphql-transport-ws"]
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": headers["authorization"]}}))
        await ws.recv()
        for n, job_id in enumerate(jobs):
            payload = {"query": PROGRESS, "variables": {"id": job_id}}
            await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": payload}))
            while True:
                message = json.loads(await ws.recv())
                if message["type"] == "complete" and message.get("id") != str(n):
                    continue  # the end of the previous job's subscription, after its DONE
                if message["type"] != "next" or message.get("id") != str(n):
                    raise RuntimeError(f"ingestionProgress of job {job_id}: {message}")
                updates += 1
                job = message["payload"]["data"]["ingestionProgress"]
                if job["status"] == "FAILED":
                    raise RuntimeError(f"job {job_id} failed: {job['error']}")
                if job["status"] == "DONE":
                    chunks += job["chunkCount"]
                    break
    return chunks, updates


async def through_gateway(
    base: str, headers: dict, documents: list[str], watch: str = "subscription"
) -> tuple[int, float, float, int, str, float]:
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
        started = time.perf_counter()
        jobs = []
        for n, text in enumerate(documents):
            reply = (
                await client.post(
                    "/graphql", json={"query": INGEST, "variables": {"i": {"title": f"doc-{n}.txt", "text": text}}}
                )
            ).json()
            if reply.get("errors"):
                raise RuntimeError(f"ingestText failed: {reply['errors']}")
            jobs.append(reply["data"]["ingestText"]["id"])
        if watch == "subscription":
            chunks, updates = await subscribed(base, headers, jobs)
            wall = time.perf_counter() - started
            return chunks, chunks / wall, wall, updates, jobs[-1], 0.0
        # Jobs run in submission order, so only the oldest unfinished one is polled (once it is
        # DONE, the next at once). Each poll costs the client, the gateway, rag and the broker
        # 7-9 ms of CPU (printed at the end): polled every 1 % of the elapsed time (50 ms to 1 s,
        # ``--watch every``, the bench until 2026-12-06), a 5 s run made about 80 polls, 6-8 % of
        # the two cores the pipeline is measured on. Only the last DONE ends the measurement, so
        # with ``--watch paced`` (the default until the subscription was pushed) the client waits
        # for the oldest job's turn as the pace of the jobs seen DONE so far predicts it, and polls
        # every 1 % of the elapsed time again from 15 % of the run before its predicted end (and
        # before the first DONE). A prediction
        # that is late can only delay the last DONE seen, so lengthen the measured time, never
        # shorten it; the delay of the last DONE seen is printed.
        chunks, pending, polls, done, last_done, interval = 0, list(jobs), 0, 0, started, 0.0
        while pending:
            polls += 1
            job = (await client.post("/graphql", json={"query": JOB, "variables": {"id": pending[0]}})).json()
            job = job["data"]["ingestionJob"]
            if job["status"] == "FAILED":
                raise RuntimeError(f"job {pending[0]} failed: {job['error']}")
            if job["status"] == "DONE":
                chunks += job["chunkCount"]
                pending.pop(0)
                done, last_done = done + 1, time.perf_counter()
                continue
            now = time.perf_counter()
            interval = min(1.0, max(0.05, (now - started) / 100))
            if watch == "paced" and done:
                pace = (last_done - started) / done  # seconds per job so far
                switch = started + 0.85 * (last_done - started + pace * len(pending))
                if now < switch:  # far from the end: at the oldest job's predicted turn
                    interval = max(interval, min(last_done + pace - now, switch - now, 1.0))
            await asyncio.sleep(interval)
        wall = time.perf_counter() - started
        return chunks, chunks / wall, wall, polls, jobs[-1], interval


async def quiet(pids: dict[str, int], timeout: float = 10.0) -> None:
    """Waits until the stack is idle (the processes of ``pids`` together under 5 % of a core over
    0.2 s), so that the raw embedder measured next has the cores."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        before = cpu_seconds(pids)
        await asyncio.sleep(0.2)
        after = cpu_seconds(pids)
        if sum(after[name] - before[name] for name in pids) < 0.01:
            return


async def run(args) -> int:
    from services.rag.settings import RagSettings

    documents = texts(args.documents, args.kib * 1024)
    batch = RagSettings(env="development").rag_embed_batch
    chunks = service_chunks(documents)
    embedder = service_embedder(batch)
    isolation = Isolation(data_prefix="agenthub-bench-ingest-").create()
    mark_revocations_published(isolation.redis_prefix)  # no auth service in this stack
    env = dict(AGENTHUB_RATE_LIMIT_AUTHENTICATED="1000000/minute", AGENTHUB_LOG_LEVEL="WARNING")
    rag, gateway = None, None
    raws: list[tuple[float, float]] = []  # the raw embedder before the first round and after each
    rounds: list[tuple[int, float, float, int]] = []  # chunks, chunks/s, wall, updates (or polls)
    idle_stack = idle_machine = 0.0  # CPU seconds of the idle stack, and of the machine, during the raw runs
    cpu: dict[str, float] = {}
    try:
        metrics_port = free_port()
        rag = ServiceProcess(isolation, "services.rag.service", "rag", AGENTHUB_METRICS_PORT=str(metrics_port), **env)
        gateway = GatewayProcess(isolation, **env)
        port = gateway.port
        rag.wait_until_consuming(timeout=300)
        base = f"http://127.0.0.1:{port}"
        await wait_ready(base, path="/healthz")
        codec = TokenCodec(CommonSettings(env="development"))
        pids = {"rag": rag.process.pid, "gateway": gateway.process.pid, "this benchmark (client)": os.getpid()}
        stack = {name: pid for name, pid in pids.items() if name in ("rag", "gateway")}
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        stages_before = stage_seconds(metrics_url)
        for number in range(args.rounds + 1):
            await quiet(stack)
            before = cpu_seconds(stack)
            raws.append(embedding_rate(embedder, chunks, batch))  # the stack idle: the cores are its
            after = cpu_seconds(stack)
            idle_stack += sum(after[name] - before[name] for name in stack)
            idle_machine += after["machine"] - before["machine"]
            if number == args.rounds:
                break
            # each round as another user: the same texts are new documents (no deduplication)
            token = codec.issue(
                subject=f"bench-ingester-{number}", role="user", session_id=uuid.uuid4().hex, ttl=3600
            ).token
            headers = {"authorization": f"Bearer {token}"}
            cpu_before = cpu_seconds(pids)
            served_chunks, served_rate, wall, polls, last_job, last_interval = await through_gateway(
                base, headers, documents, args.watch
            )
            for name, used in cpu_seconds(pids).items():
                cpu[name] = cpu.get(name, 0.0) + used - cpu_before[name]
            rounds.append((served_chunks, served_rate, wall, polls))
        stages = {name: value - stages_before[name] for name, value in stage_seconds(metrics_url).items()}
        poll = await poll_cost(base, headers, last_job, pids)
    finally:
        if rag is not None:
            rag.stop()
        if gateway is not None:
            gateway.stop()
        isolation.destroy()
    raw_rate = statistics.mean(rate for rate, _ in raws)
    raw_cpu = statistics.mean(used for _, used in raws)
    ratios = [rate / ((raws[n][0] + raws[n + 1][0]) / 2) for n, (_, rate, _, _) in enumerate(rounds)]
    ratio = statistics.median(ratios)
    served_chunks = sum(n for n, _, _, _ in rounds)
    wall = sum(w for _, _, w, _ in rounds)
    polls = sum(p for _, _, _, p in rounds)
    one_run = None  # the other way to use the same cores: one batch at a time on all the threads
    if embedder.lanes > 1:
        one_run = embedding_rate(service_embedder(batch, lanes=1), chunks, batch)
    torch_rate, _ = embedding_rate(TorchEmbedder(batch), chunks, batch)

    console = Console()
    table = Table(
        title=f"Ingestion of {args.documents} texts of {args.kib} KiB, {args.rounds} rounds, each between two "
        "runs of the raw embedder"
    )
    for column in ("path", "chunks", "chunks/s", "pipeline / raw"):
        table.add_column(column, justify="right")
    lanes = embedder.lanes
    threads = f"ONNX int8, {lanes} × {embedder.threads // lanes} thread(s)"
    for number, (chunks_done, rate, _, _) in enumerate(rounds):
        table.add_row(f"raw embedder ({threads}), same chunks", f"{len(chunks)}", f"{raws[number][0]:.1f}", "")
        table.add_row(
            f"round {number + 1}: gateway → rag job → DONE", f"{chunks_done}", f"{rate:.1f}", f"{ratios[number]:.2f}"
        )
    table.add_row(f"raw embedder ({threads}), same chunks", f"{len(chunks)}", f"{raws[-1][0]:.1f}", "")
    if one_run is not None:
        table.add_row(
            f"  (not the baseline) the same, 1 batch at a time × {embedder.threads} threads, after; "
            f"CPU {one_run[1] * 1000:.1f} ms/chunk against {raw_cpu * 1000:.1f}",
            f"{len(chunks)}",
            f"{one_run[0]:.1f}",
            "",
        )
    table.add_row("PyTorch embedder (before), same chunks", f"{len(chunks)}", f"{torch_rate:.1f}", "")
    console.print(table)
    console.print(
        f"the idle stack during the raw embedder's runs: {idle_stack / max(idle_machine, 1e-9):.1%} of the "
        "machine's CPU"
    )
    breakdown = Table(
        title=f"Where the pipeline's {wall:.2f} s went, all rounds (stages overlap; embed: the sum over the "
        f"{lanes} lanes)"
    )
    for column in ("stage", "seconds", "of the wall time"):
        breakdown.add_column(column, justify="right")
    for stage in STAGES:
        breakdown.add_row(stage, f"{stages[stage]:.2f}", f"{stages[stage] / wall:.0%}")
    idle = max(wall * lanes - stages["embed"], 0.0)
    breakdown.add_row(f"embedder lanes idle (of {lanes} × the wall time)", f"{idle:.2f}", f"{idle / wall / lanes:.0%}")
    console.print(breakdown)
    console.print(
        f"chunks embedded by rag: {stages['chunks embedded']:.0f} for {served_chunks} stored "
        "(more: preparations ahead that were dropped)"
    )
    usage = Table(
        title=f"CPU during the pipeline runs, ms per chunk (the raw embedder alone: {raw_cpu * 1000:.1f}; "
        f"rag's lanes embedding: {stages['embed_cpu'] / served_chunks * 1000:.1f})"
    )
    for column in ("process", "CPU ms / chunk", "of the machine's CPU"):
        usage.add_column(column, justify="right")
    others = cpu["machine"] - sum(used for name, used in cpu.items() if name != "machine")
    for name, used in [
        *((n, u) for n, u in cpu.items() if n != "machine"),
        ("everything else (the broker, other users)", others),
    ]:
        usage.add_row(name, f"{used / served_chunks * 1000:.1f}", f"{used / max(cpu['machine'], 1e-9):.0%}")
    console.print(usage)
    jobs = args.documents * len(rounds)
    beyond = cpu["machine"] - stages["embed_cpu"]
    console.print(
        f"the machine's CPU beyond the embedding itself: {beyond / jobs * 1000:.1f} ms per job of "
        f"{served_chunks / jobs:.0f} chunks, {beyond / stages['embed_cpu']:.1%} of the embedding's "
        f"(rag {(cpu['rag'] - stages['embed_cpu']) / jobs * 1000:.1f}, gateway {cpu['gateway'] / jobs * 1000:.1f}, "
        f"client {cpu['this benchmark (client)'] / jobs * 1000:.1f}, the rest {others / jobs * 1000:.1f})"
    )
    poll_total = poll["machine"]
    if args.watch == "subscription":
        console.print(
            f"job updates received over the subscription: {polls} (one a job at least: its DONE); an "
            f"ingestionJob poll for comparison costs {poll_total * 1000:.1f} ms of the machine's CPU"
        )
    else:
        console.print(
            f"status polls ({args.watch}): {polls} in the runs (the last sleep before the last DONE seen: "
            f"{last_interval * 1000:.0f} ms); each {poll_total * 1000:.1f} ms of the machine's CPU on the idle stack "
            f"(rag {poll['rag'] * 1000:.1f}, gateway {poll['gateway'] * 1000:.1f}, "
            f"client {poll['this benchmark (client)'] * 1000:.1f}): {polls * poll_total / served_chunks * 1000:.1f} ms "
            "per chunk"
        )
    if stages["embed"]:
        busy_rate = served_chunks * lanes / stages["embed"]
        console.print(
            f"embedder while busy in the pipeline: {busy_rate:.1f} chunks/s = {busy_rate / raw_rate:.2f} "
            "of the raw embedder (the rest: cores shared with the other stages, the gateway and the "
            "broker)"
        )
    verdict = "PASS" if ratio >= TARGET else "MISS"
    console.print(
        f"pipeline / raw embedder = {ratio:.2f}  (target ≥ {TARGET})  {verdict}  "
        f"(the median of the rounds: {', '.join(f'{r:.2f}' for r in ratios)})"
    )
    speedup = raw_rate / torch_rate
    console.print(
        f"raw embedder / PyTorch = {speedup:.2f}  (target ≥ {EMBEDDER_TARGET})  "
        f"{'PASS' if speedup >= EMBEDDER_TARGET else 'MISS'}  (int8 on this CPU: {int8_instructions()})"
    )
    return 1 if args.check and (ratio < TARGET or speedup < EMBEDDER_TARGET) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=12)
    parser.add_argument("--kib", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3, help="pipeline runs, each between two raw embedder runs")
    parser.add_argument("--check", action="store_true")
    parser.add_argument(
        "--watch", choices=("subscription", "paced", "every"), default="subscription", help="see through_gateway"
    )
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
