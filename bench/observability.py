"""Benchmark: the cost of metrics and tracing on the authenticated ``me`` query.

One stack — an auth service and a gateway (``agenthub gateway``) on their own RabbitMQ vhost,
``me`` needs only auth — under a steady load (wrk, 16 connections, for the whole run) and switched
between configurations while it runs (``bench/switch.py`` sends each process ``SIGUSR1``):

* ``baseline``: every metric a no-op and the GraphQL operation's metrics hook skipped, no span
  exported (trace ids still made and logged);
* ``metrics``: the default without an exporter — Prometheus metrics on;
* ``otlp``: also spans exported over OTLP/HTTP (to a sink in a process of its own that answers
  200) with the default sampler: parent-based, ``core.tracing.DEFAULT_RATIO`` of new traces;
* ``otlp-all`` (with ``--every-trace``): every trace exported (``parentbased_always_on``).

Each round runs every configuration once, in a shuffled order, for ``--segment`` seconds. At each
switch both processes note their own CPU time (``time.process_time_ns``: every thread, in ns)
and the gateway the HTTP requests it has finished, at a boundary it draws itself (between two
event-loop callbacks): a segment's CPU per request needs no clock read from outside, no client
restart and no guess about requests in flight. Spans are exported on the SDK's schedule (a batch
every 5 s, as in production); the CPU of the export threads is charged, per request, to the
configuration whose provider they serve (the column "of it, span export").

The statistic. A configuration's cost in one round is the ratio of its CPU per request to the
baseline's in the same round (paired: whatever the machine did around that round weighs on
both). The rounds' ratios are summarised by their median, with a 95 % confidence interval from a
percentile bootstrap (the rounds resampled with replacement ``BOOTSTRAP`` times, the median of
each resample, the 2.5th and 97.5th percentiles of those medians). The median rather than the
mean: a segment that a garbage collection or another process's burst hit is 20-40 % dearer,
whatever its configuration — an outlier, not the effect. The verdict per configuration:
``PASS`` when the interval's upper bound is under ``1 + TARGET`` (the cost is under 5 % with
95 % confidence), ``MISS`` when its lower bound is at or over it, ``UNDECIDED`` otherwise (run
more rounds, or on a quieter machine); the benchmark's verdict is the worst of ``metrics`` and
``otlp``, and ``--check`` fails unless it is ``PASS``. Many short rounds rather than a few long
ones narrow the interval (it shrinks with the square root of the number of rounds), down to the
half-second segments: below that, bursts weigh more than the extra rounds gain. Checked with an
A/A run (the baseline under two names): 1.005 [0.987–1.023].

Why one stack switched: separate processes of the same configuration differ by up to ±20 % in
CPU per request. Why CPU per request rather than requests/s: on a shared machine throughput
shows mostly how the scheduler shared the cores.

Then, in this process, the instrumentation alone (``hook_cost``): what the middleware,
``ErrorConvention`` (and for an RPC the client and RequestLog) call per request; the sharp
figure, independent of the machine's load, but without the cache effects of a real server.

Usage::

    .venv/bin/python bench/observability.py [--segment 0.5] [--rounds 100] [--every-trace]
        [--concurrency 16] [--check] [--raw FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.auth import ME, drive, sign_in  # noqa: E402
from bench.common import wait_ready  # noqa: E402
from tests.support.servers import wait_until  # noqa: E402
from tests.support.stack import CONFIG_PATH, Isolation, ServiceProcess, free_port  # noqa: E402

TARGET = 0.05
CONFIGS = ("baseline", "metrics", "otlp", "otlp-all")
VERDICT = ("metrics", "otlp")  # the defaults; otlp-all is the cost of sampling everything
BOOTSTRAP = 4000  # resamples for the confidence interval
SEVERITY = {"PASS": 0, "UNDECIDED": 1, "MISS": 2}


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


@dataclass(frozen=True)
class Mark:
    """What a process noted at a switch: its CPU so far but its span exporters' (ns), the HTTP
    requests it finished so far, and each provider's export thread's CPU so far (ns)."""

    cpu: int
    served: int
    exporting: dict[str, int]


class Stack:
    """Auth and a gateway, both started exporting to ``otlp`` and switched by ``switch``."""

    def __init__(self, otlp: str) -> None:
        self.isolation = Isolation(data_prefix="agenthub-bench-obs-").create()
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

    def switch(self, state: str) -> dict[int, Mark]:
        """Both processes in ``state`` (``flush``: their queued spans exported); returns, by pid,
        what each noted when it left its state (``bench/switch.py``)."""
        self.seq += 1
        self.control.write_text(f"{state} {self.seq}")
        for pid in self.pids:
            os.kill(pid, signal.SIGUSR1)
        marks: dict[int, Mark] = {}

        def acknowledged() -> bool:
            for pid in self.pids:
                if pid not in marks:
                    ack = Path(f"{self.control}.{pid}")
                    fields = ack.read_text().split() if ack.exists() else []
                    if fields and fields[0] == str(self.seq):
                        exporting = {k: int(v) for k, v in (field.split("=") for field in fields[3:])}
                        marks[pid] = Mark(int(fields[1]), int(fields[2]), exporting)
            return len(marks) == len(self.pids)

        wait_until(acknowledged, 60, f"both processes switched to {state}", interval=0.002)
        return marks

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


class Load:
    """``me`` requests over ``concurrency`` connections for at most ``seconds``, until ``stop``:
    wrk (a load generator in C, so the client takes little of the two cores) in the background;
    without wrk, httpx in this process. The first GraphQL error stops wrk (and the run)."""

    def __init__(self, stack: Stack, seconds: float, concurrency: int) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.task: asyncio.Task[float] | None = None
        if not shutil.which("wrk"):
            self.task = asyncio.ensure_future(drive(stack.base, ME, stack.headers, seconds, concurrency))
            return
        lines = [
            'wrk.method = "POST"',
            f"wrk.body = {json.dumps(json.dumps(ME))}",
            'wrk.headers["Content-Type"] = "application/json"',
            *(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in stack.headers.items()),
            "response = function(status, headers, body)",
            "  if status ~= 200 or string.find(body, '\"errors\"', 1, true) then",
            '    io.write("GRAPHQL_ERROR " .. status .. " " .. body .. "\\n"); io.flush(); os.exit(1)',
            "  end",
            "end",
        ]
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write("\n".join(lines) + "\n")
        self.script = script.name
        self.process = subprocess.Popen(
            ["wrk", "-t1", f"-c{concurrency}", f"-d{int(seconds) + 1}s", "-s", script.name, f"{stack.base}/graphql"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def failure(self) -> str | None:
        """Why the load stopped before it was told to (wrk's output, httpx's exception), or None."""
        if self.process is not None and self.process.poll() is not None:
            return self.process.communicate()[0]
        if self.task is not None and self.task.done():
            return repr(self.task.exception())
        return None

    async def stop(self) -> str:
        """Stops the load; what wrk said (its summary, and any error)."""
        if self.task is not None:
            self.task.cancel()
            return ""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # wrk prints its summary and exits
        said, _ = await asyncio.to_thread(self.process.communicate, timeout=15)
        os.unlink(self.script)
        return said or ""


def hook_cost(iterations: int = 20000, provider: Any = None, rpc: bool = False) -> float:
    """Seconds of CPU (every thread of this process) the instrumentation of one request costs:
    what the gateway's middleware and ``ErrorConvention`` call for ``me`` (answered at the edge
    from the profile auth cached: no RPC), in the same order; with ``rpc``, also what the RPC
    client and the service worker's RequestLog call for one RPC (any other operation). With
    ``provider``, spans go through it and the CPU includes exporting them (flushed before the
    clock is read). A stable figure on a busy machine."""
    from graphql import parse

    from core import metrics, tracing
    from gateway.graphql import metrics as operation_metrics
    from gateway.graphql.schema import schema

    operation = SimpleNamespace(
        graphql_document=parse(ME["query"]), operation_name=None, schema=schema, result=SimpleNamespace(errors=None)
    )
    tracing.install(provider)
    started = time.process_time()
    for _ in range(iterations):
        began = time.perf_counter()
        server = tracing.start(
            "POST /graphql", None, kind="server", attributes={"http.route": "/graphql", "agenthub.request_id": "r"}
        )
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
        operation_metrics.record(operation, began)  # type: ignore[arg-type]
        metrics.HTTP_REQUESTS.inc("/graphql", "POST", "200")  # its duration: the operation's
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


def bootstrap_median(values: list[float], resamples: int = BOOTSTRAP, seed: int = 0) -> tuple[float, float, float]:
    """The median of ``values`` and a 95 % percentile-bootstrap confidence interval for it."""
    draw = random.Random(seed)
    n = len(values)
    medians = sorted(statistics.median(draw.choices(values, k=n)) for _ in range(resamples))
    return statistics.median(values), medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]


def verdict(low: float, high: float) -> str:
    """PASS: the cost is under the target with 95 % confidence; MISS: over it; else UNDECIDED."""
    if high < 1 + TARGET:
        return "PASS"
    if low >= 1 + TARGET:
        return "MISS"
    return "UNDECIDED"


async def run(args: argparse.Namespace) -> int:
    began = time.monotonic()
    received = multiprocessing.Value("l", 0)
    port = free_port()
    sink = multiprocessing.get_context("fork").Process(target=serve_sink, args=(port, received), daemon=True)
    sink.start()
    otlp = f"http://127.0.0.1:{port}"
    stack = Stack(otlp)
    configs = CONFIGS if args.every_trace else CONFIGS[:-1]
    load_before = os.getloadavg()[0]
    try:
        await stack.ready()
        rps: dict[str, list[float]] = {name: [] for name in configs}
        cpu_us: dict[str, list[float]] = {name: [] for name in configs}
        requests: dict[str, int] = dict.fromkeys(configs, 0)
        sequence = [
            name
            for round_ in range(args.rounds)
            for name in random.Random(round_).sample(configs, len(configs))  # no configuration always follows another
        ]
        load = Load(stack, len(sequence) * (args.segment + 0.05) + 30, args.concurrency)
        try:
            await asyncio.sleep(1.0)  # connections open, the loop busy
            first = marks = await asyncio.to_thread(stack.switch, sequence[0])
            clock, posts = time.perf_counter(), received.value
            gateway = stack.pids[0]
            for index, name in enumerate(sequence):
                await asyncio.sleep(args.segment)
                upcoming = sequence[index + 1] if index + 1 < len(sequence) else "baseline"
                now = await asyncio.to_thread(stack.switch, upcoming)
                elapsed, clock = time.perf_counter() - clock, time.perf_counter()
                served = now[gateway].served - marks[gateway].served
                if served <= 0:
                    raise RuntimeError(f"no request answered in a segment; the load generator said:\n{load.failure()}")
                cpu_us[name].append(sum(now[pid].cpu - marks[pid].cpu for pid in stack.pids) / 1e3 / served)
                rps[name].append(served / elapsed)
                requests[name] += served
                marks = now
            last = await asyncio.to_thread(stack.switch, "flush")  # what is still queued, exported
            posts = received.value - posts
        finally:
            said = await load.stop()
        if "GRAPHQL_ERROR" in said or "Non-2xx" in said:
            raise RuntimeError(f"benchmark requests failed:\n{said}")
        # the export threads' CPU, over the whole run, per request of the state they served
        export_us = {
            name: sum(last[pid].exporting.get(name, 0) - first[pid].exporting.get(name, 0) for pid in stack.pids)
            / 1e3
            / max(1, requests[name])
            for name in configs
        }
        cpu_us = {name: [cpu + export_us[name] for cpu in values] for name, values in cpu_us.items()}
        measured = time.monotonic() - began
        if args.raw:
            raw = {"sequence": sequence, "cpu_us": cpu_us, "rps": rps, "export_us": export_us}
            with open(args.raw, "w") as out:  # noqa: ASYNC230  (once, at the end)
                json.dump(raw, out)
        ratios = {name: [cpu_us[name][i] / cpu_us["baseline"][i] for i in range(args.rounds)] for name in configs}
        driver = "wrk" if shutil.which("wrk") else "httpx"
        table = Table(
            title=f"me query, one stack switched, {args.concurrency} connections ({driver}), {args.rounds} rounds "
            f"of {args.segment:g} s per configuration; ratio: median of the rounds \\[95 % bootstrap CI]"
        )
        for column in (
            "configuration",
            "requests/s",
            "CPU µs/request",
            "CPU ratio to baseline",
            "of it, span export",
            "verdict",
        ):
            table.add_column(column, justify="left" if column == "configuration" else "right", overflow="fold")
        verdicts: dict[str, str] = {}
        for name in configs:
            middle, low, high = bootstrap_median(ratios[name])
            verdicts[name] = verdict(low, high) if name != "baseline" else "—"
            table.add_row(
                name,
                f"{statistics.median(rps[name]):,.0f}",
                f"{statistics.median(cpu_us[name]):,.0f}",
                "1" if name == "baseline" else f"{middle:.3f} [{low:.3f}–{high:.3f}]",
                f"{export_us[name]:.1f}",
                verdicts[name] if name in VERDICT else "(reference)" if name != "baseline" else "",
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
        overall = max((verdicts[name] for name in VERDICT), key=SEVERITY.__getitem__)
        console.print(
            f"whole stack: {overall} (target: {' and '.join(VERDICT)} under {TARGET:.0%} over the baseline, the "
            f"upper bound of the 95 % interval of the median);  {posts} OTLP posts;  load average "
            f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores;  "
            f"{measured:.0f} s with the start-up"
        )
        return 1 if args.check and overall != "PASS" else 0
    finally:
        stack.stop()
        sink.terminate()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segment", type=float, default=0.5, help="seconds per configuration per round")
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument(
        "--every-trace", action="store_true", help="also switch to exporting every trace (parentbased_always_on)"
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--check", action="store_true", help="exit 1 unless the verdict is PASS")
    parser.add_argument("--raw", help="write each round's CPU µs per request and requests/s there (JSON)")
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
