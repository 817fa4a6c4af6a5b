"""Benchmark: the cost of metrics and tracing on the authenticated ``me`` query.

Three stacks side by side in the same run, each an auth service and a gateway
(``agenthub gateway``) on its own RabbitMQ vhost — ``me`` needs only auth:

* ``baseline``: metrics off (``AGENTHUB_METRICS_DISABLED=1``), no span exported;
* ``metrics``: the default — Prometheus metrics on, trace ids in context and logs;
* ``metrics+otlp``: also OpenTelemetry spans exported over OTLP/HTTP to a sink
  in this process that answers 200 and counts what it receives.

Rounds alternate the order of the stacks; it prints, for each (median of the
rounds), requests/s and the CPU time the gateway and auth processes spent per
request, and their ratios to the baseline. Target: under 5 % overhead. On a
machine shared with other work, requests/s mostly shows how the scheduler shared
the cores; CPU per request is the figure that holds, and the verdict uses it.

Usage::

    .venv/bin/python bench/observability.py [--seconds 4] [--rounds 3] [--concurrency 16] [--check]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.auth import ME, drive, measure, sign_in  # noqa: E402
from bench.common import free_port, wait_ready  # noqa: E402
from tests.support.stack import Isolation, ServiceProcess  # noqa: E402

TARGET = 0.95


class Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that accepts every export (so the exporter's full cost is paid)."""

    received = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("content-length") or 0))
        Sink.received += 1
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


class Stack:
    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name, self.env = name, env
        self.isolation = Isolation(data_dir=Path(tempfile.mkdtemp(prefix=f"agenthub-bench-{name}-"))).create()
        self.auth = ServiceProcess(self.isolation, "services.auth.service", "auth", **env)
        self.port = free_port()
        gateway_env = self.isolation.env(AGENTHUB_RATE_LIMIT_AUTHENTICATED="1000000/minute",
                                         AGENTHUB_RATE_LIMIT_ANONYMOUS="1000000/minute",
                                         AGENTHUB_LOG_LEVEL="WARNING", **env)
        self.gateway = subprocess.Popen([sys.executable, "-m", "agenthub", "gateway", "--port", str(self.port)],
                                        env=gateway_env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        self.headers: dict[str, str] = {}

    def cpu(self) -> float:
        """CPU seconds (user + system) of this stack's gateway and auth processes so far."""
        total = 0.0
        for pid in (self.gateway.pid, self.auth.process.pid):
            process = psutil.Process(pid)
            for each in [process, *process.children(recursive=True)]:
                times = each.cpu_times()
                total += times.user + times.system
        return total

    async def ready(self) -> None:
        await asyncio.to_thread(self.auth.wait_until_consuming, 240)
        await wait_ready(self.base, timeout=240, path="/healthz")
        self.headers = {"authorization": f"Bearer {await sign_in(self.base)}"}
        await drive(self.base, ME, self.headers, 1, 4)  # warm up; fails on any GraphQL error

    def stop(self) -> None:
        self.gateway.terminate()
        try:
            self.gateway.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.gateway.kill()
        self.auth.stop()
        self.isolation.destroy()


def hook_cost(iterations: int = 20000) -> float:
    """Seconds of CPU the instrumentation of one ``me`` request costs, measured in this process
    (no exporter): what the gateway's middleware, GraphQL extension and RPC client and the auth
    worker's RequestLog call, in the same order. A stable figure on a busy machine."""
    from core import metrics, tracing

    started = time.process_time()
    for _ in range(iterations):
        server = tracing.start("POST /graphql", None, kind="server")
        token = tracing.current.set(server.context)
        client = tracing.start("auth.me", kind="client")
        context = {"traceparent": client.context.traceparent}
        worker = tracing.start("auth.me", context["traceparent"], kind="server")  # in auth
        metrics.WORKERS_BUSY.labels("auth").inc()
        metrics.RPC_HANDLED.labels("auth", "me", "ok").inc()
        metrics.RPC_HANDLED_DURATION.labels("auth", "me").observe(0.0005)
        metrics.WORKERS_BUSY.labels("auth").dec()
        worker.end()
        client.end()
        metrics.RPC_CALLS.labels("auth", "me", "ok").inc()
        metrics.RPC_CALL_DURATION.labels("auth", "me").observe(0.001)
        metrics.GRAPHQL_OPERATIONS.labels("query", "me").inc()
        metrics.GRAPHQL_DURATION.labels("query", "me").observe(0.002)
        metrics.HTTP_REQUESTS.labels("/graphql", "POST", "200").inc()
        metrics.HTTP_DURATION.labels("/graphql").observe(0.003)
        tracing.current.reset(token)
        server.end()
    return (time.process_time() - started) / iterations


async def run(args) -> int:
    sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    otlp = f"http://127.0.0.1:{sink.server_address[1]}"
    configs = {
        "baseline": {"AGENTHUB_METRICS_DISABLED": "1"},
        "metrics": {},
        "metrics+otlp": {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp},
    }
    stacks = [Stack(name, env) for name, env in configs.items()]
    try:
        await asyncio.gather(*(stack.ready() for stack in stacks))
        figures: dict[str, list[float]] = {stack.name: [] for stack in stacks}
        cpu_ms: dict[str, list[float]] = {stack.name: [] for stack in stacks}
        seconds = max(1, round(args.seconds))  # what wrk runs for
        for round_ in range(args.rounds):
            order = stacks[round_ % len(stacks):] + stacks[:round_ % len(stacks)]
            for stack in order:
                before = stack.cpu()
                rps = await measure(stack.base, ME, stack.headers, seconds, args.concurrency)
                figures[stack.name].append(rps)
                cpu_ms[stack.name].append((stack.cpu() - before) * 1000 / max(1.0, rps * seconds))
        median = {name: sorted(values)[len(values) // 2] for name, values in figures.items()}
        cpu = {name: sorted(values)[len(values) // 2] for name, values in cpu_ms.items()}
        driver = "wrk" if shutil.which("wrk") else "httpx"
        table = Table(title=f"me query, {args.concurrency} connections ({driver}), median of {args.rounds} rounds")
        for column in ("stack", "requests/s", "throughput ratio", "CPU ms/request", "CPU ratio"):
            table.add_column(column, justify="left" if column == "stack" else "right")
        for name, rps in median.items():
            table.add_row(name, f"{rps:,.0f}", f"{rps / median['baseline']:.3f}", f"{cpu[name]:.2f}",
                          f"{cpu[name] / cpu['baseline']:.3f}")
        console = Console()
        console.print(table)
        overhead = max(cpu["metrics"], cpu["metrics+otlp"]) / cpu["baseline"] - 1
        verdict = "PASS" if overhead <= 1 - TARGET else "MISS"
        hooks = hook_cost()
        console.print(f"instrumentation alone (in-process, no exporter): {hooks * 1e6:.0f} µs CPU per me request "
                      f"= {hooks * 1000 / cpu['baseline']:.1%} of the baseline's CPU per request")
        console.print(f"worst CPU overhead per request = {overhead:+.1%}  (target ≤ {1 - TARGET:.0%})  {verdict};  "
                      f"OTLP exports received: {Sink.received};  load average {os.getloadavg()[0]:.1f} "
                      f"on {os.cpu_count()} cores")
        return 1 if args.check and overhead > 1 - TARGET else 0
    finally:
        for stack in stacks:
            stack.stop()
        sink.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--check", action="store_true")
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
