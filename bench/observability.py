"""Benchmark: the cost of metrics and tracing on the authenticated ``me`` query.

One stack — an auth service and a gateway (``agenthub gateway``) on their own RabbitMQ vhost,
``me`` needs only auth — switched between configurations while it runs (``bench/switch.py``
sends each process ``SIGUSR1``):

* ``baseline``: every metric a no-op, no span exported (trace ids still made and logged);
* ``metrics``: the default without an exporter — Prometheus metrics on;
* ``otlp``: also spans exported over OTLP/HTTP (to a sink in this process that answers 200)
  with the default sampler: parent-based, ``core.tracing.DEFAULT_RATIO`` of new traces;
* ``otlp-all`` (with ``--every-trace``): every trace exported (``parentbased_always_on``).

Each round runs every configuration once, in a shuffled order, and measures the CPU
time (user + system, all threads) the gateway and auth processes spend per request, including
the export of the round's spans (flushed before the round's CPU is read). Each configuration's
cost is a ratio to the baseline of the same round; the median of the rounds and their range
are printed. Target: ``metrics`` and ``otlp`` under 5 % over the baseline. Comparing the same
processes removes the ±20 % that separate processes of one configuration differ by; CPU per
request rather than requests/s, because on a shared machine throughput shows mostly how the
scheduler shared the cores.

Usage::

    .venv/bin/python bench/observability.py [--seconds 2] [--rounds 30] [--every-trace] [--concurrency 16] [--check]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.auth import ME, drive, measure, sign_in  # noqa: E402
from bench.common import free_port, wait_ready  # noqa: E402
from tests.support.servers import wait_until  # noqa: E402
from tests.support.stack import CONFIG_PATH, Isolation, ServiceProcess  # noqa: E402

TARGET = 0.05
CONFIGS = ("baseline", "metrics", "otlp", "otlp-all")
VERDICT = ("metrics", "otlp")  # the defaults; otlp-all is the cost of sampling everything


class Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that accepts every export (so the exporter's full cost is paid).
    It runs in a process of its own, so that its CPU is not counted as the exporter's."""

    received: Any = None  # a shared counter of the posts received

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        with Sink.received.get_lock():
            Sink.received.value += 1
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def serve_sink(port: int, received: Any) -> None:
    Sink.received = received
    ThreadingHTTPServer(("127.0.0.1", port), Sink).serve_forever()


class SwitchedService(ServiceProcess):
    """``nameko run`` of a service under ``bench/switch.py``."""

    def _spawn(self) -> None:
        argv = [sys.executable, "-m", "bench.switch", "nameko", "run", "--config", str(CONFIG_PATH), self.module]
        self.process = subprocess.Popen(
            argv, env=self.isolation.env(**self.extra_env), cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT
        )


class Stack:
    """Auth and a gateway, both started exporting to ``otlp`` and switched by ``switch``."""

    def __init__(self, otlp: str) -> None:
        self.isolation = Isolation(data_dir=Path(tempfile.mkdtemp(prefix="agenthub-bench-obs-"))).create()
        self.control = self.isolation.data_dir / "switch"
        self.seq = 0
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp, "AGENTHUB_BENCH_SWITCH": str(self.control)}
        self.auth = SwitchedService(self.isolation, "services.auth.service", "auth", **env)
        self.port = free_port()
        gateway_env = self.isolation.env(
            AGENTHUB_RATE_LIMIT_AUTHENTICATED="1000000/minute",
            AGENTHUB_RATE_LIMIT_ANONYMOUS="1000000/minute",
            AGENTHUB_LOG_LEVEL="WARNING",
            **env,
        )
        self.gateway = subprocess.Popen(
            [sys.executable, "-m", "bench.switch", "agenthub", "gateway", "--port", str(self.port)],
            env=gateway_env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        self.headers: dict[str, str] = {}

    @property
    def pids(self) -> tuple[int, int]:
        return self.gateway.pid, self.auth.process.pid

    def cpu(self) -> float:
        """CPU seconds (user + system, every thread) of the gateway and auth processes so far."""
        total = 0.0
        for pid in self.pids:
            process = psutil.Process(pid)
            for each in [process, *process.children(recursive=True)]:
                times = each.cpu_times()
                total += times.user + times.system
        return total

    def switch(self, state: str) -> None:
        """Both processes in ``state``, their queued spans exported; returns when both say so."""
        self.seq += 1
        self.control.write_text(f"{state} {self.seq}")
        for pid in self.pids:
            os.kill(pid, signal.SIGUSR1)

        def acknowledged() -> bool:
            for pid in self.pids:
                ack = Path(f"{self.control}.{pid}")
                if not ack.exists() or ack.read_text() != str(self.seq):
                    return False
            return True

        wait_until(acknowledged, 60, f"both processes switched to {state}", interval=0.01)

    async def ready(self) -> None:
        await asyncio.to_thread(self.auth.wait_until_consuming, 240)
        await wait_ready(self.base, timeout=240, path="/healthz")
        self.headers = {"authorization": f"Bearer {await sign_in(self.base)}"}
        for state in CONFIGS:  # warm up each; fails on any GraphQL error
            await asyncio.to_thread(self.switch, state)
            await drive(self.base, ME, self.headers, 1, 4)

    def stop(self) -> None:
        self.gateway.terminate()
        try:
            self.gateway.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.gateway.kill()
        self.auth.stop()
        self.isolation.destroy()


def hook_cost(iterations: int = 20000, provider: Any = None, rpc: bool = False) -> float:
    """Seconds of CPU (every thread of this process) the instrumentation of one request costs:
    what the gateway's middleware and GraphQL extension call for ``me`` (answered at the edge
    from the profile auth cached: no RPC), in the same order; with ``rpc``, also what the RPC
    client and the service worker's RequestLog call for one RPC (any other operation). With
    ``provider``, spans go through it and the CPU includes exporting them (flushed before the
    clock is read). A stable figure on a busy machine."""
    from core import metrics, tracing

    tracing.install(provider)
    started = time.process_time()
    for _ in range(iterations):
        server = tracing.start("POST /graphql", None, kind="server", attributes={"http.route": "/graphql"})
        token = tracing.current.set(server.context)
        if rpc:
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
    if provider is not None:
        provider.force_flush()
    elapsed = (time.process_time() - started) / iterations
    tracing.install(None)
    if provider is not None:
        provider.shutdown()
    return elapsed


def exporting(otlp: str, sampler: Any) -> Any:
    """A provider exporting to ``otlp`` as ``core.tracing.configure`` sets one up, with a queue
    that never drops (a dropped span would be a span not paid for)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{otlp}/v1/traces"), max_queue_size=1 << 20)
    )
    return provider


def in_process(otlp: str, rpc: bool) -> dict[str, float]:
    """``hook_cost`` without an exporter and with one, by sampler: seconds of CPU per request."""
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, TraceIdRatioBased

    from core.tracing import DEFAULT_RATIO

    def sampled(ratio: float) -> Any:
        return exporting(otlp, ParentBased(TraceIdRatioBased(ratio)))

    return {
        "metrics, no exporter": hook_cost(rpc=rpc),
        "exporting, no trace sampled": hook_cost(provider=sampled(0.0), rpc=rpc),
        f"exporting, default sampler ({DEFAULT_RATIO:g})": hook_cost(provider=sampled(DEFAULT_RATIO), rpc=rpc),
        "exporting, every trace": hook_cost(5000, provider=exporting(otlp, ParentBased(ALWAYS_ON)), rpc=rpc),
    }


def spread(values: list[float], digits: int = 3) -> str:
    """Median, the middle half (quartiles) and the whole range of the rounds."""
    q1, _, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else (values[0],) * 3
    return (
        f"{statistics.median(values):,.{digits}f} [{q1:,.{digits}f}–{q3:,.{digits}f}] "
        f"({min(values):,.{digits}f}–{max(values):,.{digits}f})"
    )


async def run(args: argparse.Namespace) -> int:
    received = multiprocessing.Value("l", 0)
    port = free_port()
    sink = multiprocessing.get_context("fork").Process(target=serve_sink, args=(port, received), daemon=True)
    sink.start()
    otlp = f"http://127.0.0.1:{port}"
    stack = Stack(otlp)
    configs = CONFIGS if args.every_trace else CONFIGS[:-1]
    try:
        await stack.ready()
        rps: dict[str, list[float]] = {name: [] for name in configs}
        cpu_us: dict[str, list[float]] = {name: [] for name in configs}
        exports: dict[str, int] = dict.fromkeys(configs, 0)
        seconds = max(1, round(args.seconds))  # what wrk runs for
        for round_ in range(args.rounds):
            order = random.Random(round_).sample(configs, len(configs))  # no configuration always follows another
            for name in order:
                await asyncio.to_thread(stack.switch, name)
                posts, before = received.value, stack.cpu()
                rate = await measure(stack.base, ME, stack.headers, seconds, args.concurrency)
                await asyncio.to_thread(stack.switch, name)  # flushes the round's spans
                cpu_us[name].append((stack.cpu() - before) * 1e6 / max(1.0, rate * seconds))
                rps[name].append(rate)
                exports[name] += received.value - posts
        ratios = {name: [cpu_us[name][i] / cpu_us["baseline"][i] for i in range(args.rounds)] for name in configs}
        throughput = {name: [rps[name][i] / rps["baseline"][i] for i in range(args.rounds)] for name in configs}
        driver = "wrk" if shutil.which("wrk") else "httpx"
        table = Table(
            title=f"me query, one stack switched, {args.concurrency} connections ({driver}), "
            f"{args.rounds} rounds of {seconds} s: median \\[quartiles] (range) of the rounds"
        )
        for column in (
            "configuration",
            "requests/s",
            "throughput ratio",
            "CPU µs/request",
            "CPU ratio to baseline",
            "OTLP posts",
        ):
            table.add_column(column, justify="left" if column == "configuration" else "right", overflow="fold")
        for name in configs:
            table.add_row(
                name,
                f"{statistics.median(rps[name]):,.0f}",
                spread(throughput[name], 2),
                spread(cpu_us[name], 0),
                spread(ratios[name]),
                str(exports[name]),
            )
        console = Console(width=max(120, Console().width))
        console.print(table)
        base_us = statistics.median(cpu_us["baseline"])
        hooks = Table(
            title=f"instrumentation alone, in this process: CPU per request (% of the baseline's "
            f"{base_us:,.0f} µs per me request)"
        )
        for column in ("configuration", "me (at the edge)", "an operation with one RPC"):
            hooks.add_column(column, justify="left" if column == "configuration" else "right")
        edge, one_rpc = in_process(otlp, rpc=False), in_process(otlp, rpc=True)
        for what in edge:
            hooks.add_row(
                what, *(f"{cost[what] * 1e6:.1f} µs ({cost[what] * 1e6 / base_us:.1%})" for cost in (edge, one_rpc))
            )
        console.print(hooks)
        overhead = max(statistics.median(ratios[name]) for name in VERDICT) - 1
        verdict = "PASS" if overhead <= TARGET else "MISS"
        console.print(
            f"whole stack: worst median CPU overhead of {' and '.join(VERDICT)} = {overhead:+.1%}  "
            f"(target ≤ {TARGET:.0%})  {verdict};  load average {os.getloadavg()[0]:.1f} "
            f"on {os.cpu_count()} cores"
        )
        return 1 if args.check and overhead > TARGET else 0
    finally:
        stack.stop()
        sink.terminate()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument(
        "--every-trace", action="store_true", help="also switch to exporting every trace (parentbased_always_on)"
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--check", action="store_true")
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
