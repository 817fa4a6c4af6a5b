"""Benchmark: the cost of metrics and tracing on the authenticated ``me`` query.

Three stacks side by side in the same run, each an auth service and a gateway
(``agenthub gateway``) on its own RabbitMQ vhost — ``me`` needs only auth:

* ``baseline``: metrics off (``AGENTHUB_METRICS_DISABLED=1``), no span exported;
* ``metrics``: the default — Prometheus metrics on, trace ids in context and logs;
* ``metrics+otlp``: also OpenTelemetry spans exported over OTLP/HTTP to a sink
  in this process that answers 200 and counts what it receives.

Rounds alternate the order of the stacks; it prints requests/s of each (median)
and the ratio to the baseline (target: at least 0.95, i.e. under 5 % overhead).

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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

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
        for round_ in range(args.rounds):
            order = stacks[round_ % len(stacks):] + stacks[:round_ % len(stacks)]
            for stack in order:
                figures[stack.name].append(await measure(stack.base, ME, stack.headers, args.seconds,
                                                          args.concurrency))
        median = {name: sorted(values)[len(values) // 2] for name, values in figures.items()}
        driver = "wrk" if shutil.which("wrk") else "httpx"
        table = Table(title=f"me query, {args.concurrency} connections ({driver}), median of {args.rounds} rounds")
        for column in ("stack", "requests/s", "ratio to baseline"):
            table.add_column(column, justify="left" if column == "stack" else "right")
        for name, rps in median.items():
            table.add_row(name, f"{rps:,.0f}", f"{rps / median['baseline']:.3f}")
        console = Console()
        console.print(table)
        worst = min(median["metrics"], median["metrics+otlp"]) / median["baseline"]
        verdict = "PASS" if worst >= TARGET else "MISS"
        console.print(f"worst ratio = {worst:.3f}  (target ≥ {TARGET})  {verdict};  OTLP exports received: "
                      f"{Sink.received}")
        return 1 if args.check and worst < TARGET else 0
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
