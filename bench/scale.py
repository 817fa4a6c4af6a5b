"""Benchmark: throughput with one and with two instances of each deployable, in the same run.

Starts ``agenthub up`` twice on its own RabbitMQ vhost and Redis prefix, one after the other:
first one instance of everything, then ``--scale auth=2,agent=2,gateway=2`` (rag stays one: the
embedded store). Against each it measures

* ``me`` requests/s, ``--concurrency`` connections (``wrk`` when installed, else httpx in this
  process). ``me`` is answered at the gateway from the token and Redis (docs/architecture.md),
  so it measures the gateways;
* ``sessions`` requests/s, the same way: one RPC to auth and a database read each;
* agent steps/s: ``runAgent`` with one ``query_database`` tool step, ``--runs-concurrency``
  clients, the model a scripted server in this process that answers at once;

and the CPU each kind of process used during the ``me`` and agent phases (gateway, auth, agent,
rag, RabbitMQ, Redis, this process, and the rest of the machine): where the cores went says
where the bottleneck is. RabbitMQ and Redis are the machine's shared servers: their figures
include other users' load.
Prints the 2-vs-1 ratios. On a 2-core machine two instances cannot double anything that already
keeps both cores busy; the CPU table says where the cores went.

Usage::

    .venv/bin/python bench/scale.py [--seconds 6] [--concurrency 32] [--runs-concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", category=DeprecationWarning)
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.agent import token_for  # noqa: E402
from bench.auth import ME, measure, sign_in  # noqa: E402
from tests.support.scaled import ScaledStack  # noqa: E402
from tests.support.scripted_llm import ScriptedLLM, Text, ToolCalls  # noqa: E402
from tests.support.stack import Isolation  # noqa: E402

SAMPLE_DB = ROOT / "services" / "agent" / "sample" / "shop.db"
RUN = "mutation($i: AgentRunInput!) { runAgent(input: $i) { status steps { tool } } }"
MARKER = "bench-scale-step"
SESSIONS = {"query": "{ sessions { id } }"}
KINDS = ("gateway", "auth", "agent", "rag", "rabbitmq", "redis", "bench", "other")


def kind_of(process: psutil.Process, ours: set[int]) -> str | None:
    """What a process is; services and gateways count only when they are this stack's."""
    try:
        if process.pid == os.getpid():
            return "bench"
        name, cmdline = process.name(), " ".join(process.cmdline())
    except psutil.Error:
        return None
    if "beam" in name:
        return "rabbitmq"
    if name.startswith("redis-server"):
        return "redis"
    if name == "wrk":
        return "bench"
    if process.pid not in ours:
        return None
    for service in ("auth", "agent", "rag"):
        if f"services.{service}.service" in cmdline:
            return service
    return "gateway" if "gateway" in cmdline else None


def cpu_seconds(stack: ScaledStack) -> tuple[float, dict[int, tuple[str, float]]]:
    """The machine's busy CPU seconds, and each known process's own (kind, CPU seconds)."""
    ours = {p.pid for p in psutil.Process(stack.process.pid).children(recursive=True)}
    machine = psutil.cpu_times()
    busy = machine.user + machine.nice + machine.system + machine.irq + machine.softirq
    processes = {}
    for process in psutil.process_iter():
        kind = kind_of(process, ours)
        if kind is None:
            continue
        try:
            times = process.cpu_times()
            processes[process.pid] = (kind, times.user + times.system)
        except psutil.Error:
            pass
    return busy, processes


def cores_busy(before, after, seconds: float) -> dict[str, float]:
    """Cores used per kind between two ``cpu_seconds`` snapshots (processes alive at both);
    ``other``: the rest of the machine."""
    cores = dict.fromkeys(KINDS, 0.0)
    for pid, (kind, used) in after[1].items():
        if pid in before[1]:
            cores[kind] += (used - before[1][pid][1]) / seconds
    cores["other"] = (after[0] - before[0]) / seconds - sum(cores.values())
    return cores


async def agent_steps(base: str, seconds: float, concurrency: int) -> float:
    """Tool steps finished per second (one step per run), over ``seconds``; one user per client
    (a user may have only a few runs in progress)."""
    steps = 0
    stop_at = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def worker() -> None:
            nonlocal steps
            headers = {"authorization": f"Bearer {token_for(f'bench-scale-{uuid.uuid4().hex[:8]}')}"}
            while time.perf_counter() < stop_at:
                body = (
                    await client.post(
                        "/graphql",
                        headers=headers,
                        json={"query": RUN, "variables": {"i": {"message": f"{MARKER} {uuid.uuid4().hex[:6]}"}}},
                    )
                ).json()
                run = (body.get("data") or {}).get("runAgent")
                if not run or run["status"] != "FINISHED":
                    raise RuntimeError(f"agent run failed: {body}")
                steps += len(run["steps"])

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return steps / (time.perf_counter() - started)


async def measure_stack(scale: str, args, llm: ScriptedLLM, sql_url: str) -> dict:
    isolation = Isolation(data_prefix="agenthub-bench-scale-").create()
    stack = ScaledStack(
        isolation,
        scale,
        isolation.data_dir / "up.log",
        AGENTHUB_RATE_LIMIT_AUTHENTICATED="1000000/minute",
        AGENTHUB_RATE_LIMIT_ANONYMOUS="1000000/minute",
        AGENTHUB_LOG_LEVEL="WARNING",
        AGENTHUB_LLM_BACKEND="openai",
        AGENTHUB_LLM_BASE_URL=llm.base_url,
        AGENTHUB_LLM_MODEL="scripted",
        AGENTHUB_SQL_URL=sql_url,
    )
    try:
        await asyncio.to_thread(stack.wait_ready, args.ready_timeout)
        token = await sign_in(stack.url)
        auth = {"authorization": f"Bearer {token}"}
        await measure(stack.url, ME, auth, 1, args.concurrency)  # warm up
        await agent_steps(stack.url, 2, args.runs_concurrency)
        await measure(stack.url, SESSIONS, auth, 1, args.concurrency)
        sessions_rps = await measure(stack.url, SESSIONS, auth, args.seconds, args.concurrency)
        before = cpu_seconds(stack)
        started = time.perf_counter()
        me_rps = await measure(stack.url, ME, auth, args.seconds, args.concurrency)
        middle = cpu_seconds(stack)
        middle_at = time.perf_counter()
        steps = await agent_steps(stack.url, args.seconds, args.runs_concurrency)
        after = cpu_seconds(stack)
        ended = time.perf_counter()
        rss = {}
        for name in ("gateway", "auth", "agent", "rag"):
            for instance, process in stack.instances(name).items():
                try:
                    rss[instance] = process.memory_info().rss / 2**20
                except psutil.Error:
                    pass
        return {
            "me_rps": me_rps,
            "sessions_rps": sessions_rps,
            "steps_s": steps,
            "rss_mib": rss,
            "me_cpu": cores_busy(before, middle, middle_at - started),
            "agent_cpu": cores_busy(middle, after, ended - middle_at),
        }
    finally:
        await asyncio.to_thread(stack.stop)
        isolation.destroy()


async def run(args) -> int:
    llm = ScriptedLLM().start()
    llm.script(MARKER, [ToolCalls([("query_database", {"sql": "SELECT count(*) FROM orders"})]), Text(["Done."])])
    work = Path(tempfile.mkdtemp(prefix="agenthub-bench-sql-"))
    shutil.copy(SAMPLE_DB, work / "shop.db")
    console = Console(width=150)
    try:
        one = await measure_stack("auth=1,agent=1,rag=1,gateway=1", args, llm, f"sqlite:///{work / 'shop.db'}")
        console.print(f"1 instance: me {one['me_rps']:,.0f} req/s, agent {one['steps_s']:.1f} steps/s")
        two = await measure_stack(args.scale, args, llm, f"sqlite:///{work / 'shop.db'}")
    finally:
        llm.stop()
        shutil.rmtree(work, ignore_errors=True)

    driver = "wrk" if shutil.which("wrk") else "httpx"
    table = Table(title=f"1 vs {args.scale} on {os.cpu_count()} cores ({driver}, {args.seconds:g} s each)")
    for column in ("", "1 instance", "2 instances", "ratio"):
        table.add_column(column, justify="right")
    table.add_row(
        f"me req/s ({args.concurrency} conn.)",
        f"{one['me_rps']:,.0f}",
        f"{two['me_rps']:,.0f}",
        f"{two['me_rps'] / one['me_rps']:.2f}×",
    )
    table.add_row(
        f"sessions req/s, auth RPC ({args.concurrency} conn.)",
        f"{one['sessions_rps']:,.0f}",
        f"{two['sessions_rps']:,.0f}",
        f"{two['sessions_rps'] / one['sessions_rps']:.2f}×",
    )
    table.add_row(
        f"agent steps/s ({args.runs_concurrency} clients)",
        f"{one['steps_s']:.1f}",
        f"{two['steps_s']:.1f}",
        f"{two['steps_s'] / one['steps_s']:.2f}×",
    )
    console.print(table)
    for phase in ("me", "agent"):
        cpu = Table(title=f"CPU cores busy during the {phase} phase, by process kind (other: the rest of the machine)")
        cpu.add_column("")
        for kind in KINDS:
            cpu.add_column(kind, justify="right")
        cpu.add_column("machine", justify="right")
        for label, figures in (("1 of each", one), ("2 of each", two)):
            row = figures[f"{phase}_cpu"]
            cpu.add_row(label, *(f"{row[k]:.2f}" for k in KINDS), f"{sum(row.values()):.2f}")
        console.print(cpu)
    console.print("RSS MiB: " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(two["rss_mib"].items())))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--runs-concurrency", type=int, default=8)
    parser.add_argument("--scale", default="auth=2,agent=2,rag=1,gateway=2")
    parser.add_argument("--ready-timeout", type=float, default=300.0)
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
