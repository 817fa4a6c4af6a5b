"""Benchmark: the gateway's ``RpcClient`` against Nameko's ``ClusterRpcProxy``.

Both clients call the same Nameko echo service (``tests.support.echo_service``),
started by this script in its own RabbitMQ vhost, in the same run:

* sequential: one call at a time -> p50 / p99 latency;
* concurrent: ``--concurrency`` calls in flight -> calls/s.
  ``RpcClient``: one connection, ``--concurrency`` asyncio tasks.
  ``ClusterRpcProxy``: ``--concurrency`` threads, each holding its own proxy
  (a proxy is not thread-safe), in this process and *without* eventlet's
  monkey patch -- what a non-eventlet gateway would do.

Phases are split into ``--rounds`` blocks whose order alternates between the
two clients, so a drift of the machine's load does not favour either side.

Usage::

    .venv/bin/python bench/rpc.py [--calls 5000] [--concurrency 64]
        [--sequential 2000] [--amqp amqp://guest:guest@127.0.0.1:5672] [--check]

Exit status 0 (it is a benchmark), or with ``--check`` 1 when a ratio misses
its target.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make gateway/, tests/ importable
    sys.path.insert(0, str(ROOT))

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
warnings.filterwarnings("ignore", category=DeprecationWarning)

THROUGHPUT_TARGET = 1.2  # RpcClient calls/s / ClusterRpcProxy calls/s >= this
LATENCY_TARGET = 1.0     # RpcClient sequential p50 / ClusterRpcProxy p50 <= this
CALL_TIMEOUT = 10.0
CLIENT = "RpcClient"
PROXY = "ClusterRpcProxy"


def payload(i: int) -> dict:
    return {"i": i, "text": "hello, echo"}


# -- figures ---------------------------------------------------------------


@dataclass
class Figures:
    sequential: list[float] = field(default_factory=list)  # seconds per call
    loaded: list[float] = field(default_factory=list)      # seconds per call, under load
    concurrent_calls: int = 0
    concurrent_wall: float = 0.0
    concurrent_cpu: float = 0.0                             # this process's CPU during the concurrent phase

    @property
    def throughput(self) -> float:
        return self.concurrent_calls / self.concurrent_wall if self.concurrent_wall else 0.0

    def p(self, which: str, q: float) -> float:
        samples = sorted(getattr(self, which))
        if not samples:
            return float("nan")
        return samples[min(len(samples) - 1, int(q * len(samples)))]

    @property
    def cpu_per_call(self) -> float:
        return self.concurrent_cpu / self.concurrent_calls if self.concurrent_calls else float("nan")


# -- the gateway's client ----------------------------------------------------


class ClientSide:
    """``gateway.rpc.RpcClient`` on one event loop, driven phase by phase."""

    def __init__(self, amqp_uri: str, loop_kind: str) -> None:
        self.loop, self.loop_name = _new_loop(loop_kind)
        self.amqp_uri = amqp_uri
        self.client = None

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def start(self) -> None:
        from gateway.rpc import RpcClient

        self.client = RpcClient(self.amqp_uri, default_timeout=CALL_TIMEOUT, name="bench")
        self.run(self.client.start(wait=10))
        if not self.client.connected:
            raise RuntimeError("RpcClient did not connect")

    def sequential(self, n: int, offset: int = 0) -> list[float]:
        return self.run(self._sequential(n, offset))

    async def _sequential(self, n: int, offset: int) -> list[float]:
        call, clock, samples = self.client.call, time.perf_counter, []
        for i in range(offset, offset + n):
            value = payload(i)
            started = clock()
            result = await call("echo", "echo", [value])
            samples.append(clock() - started)
            if result != value:
                raise AssertionError(f"{CLIENT}: wrong reply {result!r} for {value!r}")
        return samples

    def concurrent(self, n: int, concurrency: int) -> tuple[int, float, float, list[float]]:
        return self.run(self._concurrent(n, concurrency))

    async def _concurrent(self, n: int, concurrency: int) -> tuple[int, float, float, list[float]]:
        counter, clock, samples = itertools.count(), time.perf_counter, []
        call = self.client.call

        async def worker() -> None:
            while (i := next(counter)) < n:
                value = payload(i)
                started = clock()
                result = await call("echo", "echo", [value])
                samples.append(clock() - started)
                if result != value:
                    raise AssertionError(f"{CLIENT}: wrong reply {result!r} for {value!r}")

        cpu, wall = time.process_time(), clock()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(samples), clock() - wall, time.process_time() - cpu, samples

    def close(self) -> None:
        if self.client is not None:
            try:
                self.run(asyncio.wait_for(self.client.close(), 5))
            except BaseException:  # interrupted, or the vhost is already gone
                pass
        tasks = asyncio.all_tasks(self.loop)
        for task in tasks:
            task.cancel()
        try:
            self.run(asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 2))
        except BaseException:
            pass
        self.loop.close()


def _new_loop(kind: str) -> tuple[asyncio.AbstractEventLoop, str]:
    """``auto`` = what the gateway runs on: uvicorn's ``loop="auto"`` picks uvloop when installed."""
    if kind in ("auto", "uvloop"):
        try:
            import uvloop

            return uvloop.new_event_loop(), "uvloop"
        except ImportError:
            if kind == "uvloop":
                raise
    return asyncio.new_event_loop(), "asyncio"


# -- Nameko's standalone proxy ------------------------------------------------


class ProxySide:
    """``--concurrency`` ``ClusterRpcProxy``s, one per thread, eventlet not patched."""

    def __init__(self, amqp_uri: str, concurrency: int) -> None:
        import kombu.pools
        from nameko.standalone.rpc import ClusterRpcProxy

        # Nameko publishes through kombu's global producer pool (10 connections
        # by default, callers block for one): give every thread its own, so the
        # proxy side is not held back by a setting the gateway would raise too.
        kombu.pools.set_limit(max(kombu.pools.get_limit(), concurrency))
        config = {"AMQP_URI": amqp_uri, "serializer": "json"}
        self.concurrency = concurrency
        self.managers = [ClusterRpcProxy(config, timeout=CALL_TIMEOUT) for _ in range(concurrency)]
        self.proxies: list = []
        self.stop_event = threading.Event()

    def start(self) -> None:
        import eventlet.patcher

        if eventlet.patcher.is_monkey_patched("socket") or eventlet.patcher.is_monkey_patched("thread"):
            raise RuntimeError("eventlet is monkey-patched in the benchmark process")
        for manager in self.managers:
            self.proxies.append(manager.start())

    def sequential(self, n: int, offset: int = 0) -> list[float]:
        echo = self.proxies[0]
        clock, samples = time.perf_counter, []
        for i in range(offset, offset + n):
            value = payload(i)
            started = clock()
            result = echo.echo.echo(value)
            samples.append(clock() - started)
            if result != value:
                raise AssertionError(f"{PROXY}: wrong reply {result!r} for {value!r}")
        return samples

    def concurrent(self, n: int, concurrency: int) -> tuple[int, float, float, list[float]]:
        concurrency = min(concurrency, len(self.proxies))
        counter, clock = itertools.count(), time.perf_counter
        per_thread: list[list[float]] = [[] for _ in range(concurrency)]
        errors: list[BaseException] = []
        barrier = threading.Barrier(concurrency + 1)

        def worker(proxy, samples: list[float]) -> None:
            try:
                barrier.wait()
                while not self.stop_event.is_set() and (i := next(counter)) < n:
                    value = payload(i)
                    started = clock()
                    result = proxy.echo.echo(value)
                    samples.append(clock() - started)
                    if result != value:
                        raise AssertionError(f"{PROXY}: wrong reply {result!r} for {value!r}")
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
                self.stop_event.set()

        # Daemon threads: on Ctrl-C the main thread cleans up without waiting
        # for calls whose service is already gone.
        threads = [threading.Thread(target=worker, args=(proxy, samples), daemon=True, name=f"proxy-{k}")
                   for k, (proxy, samples) in enumerate(zip(self.proxies, per_thread))]
        for thread in threads:
            thread.start()
        barrier.wait()
        cpu, wall = time.process_time(), clock()
        for thread in threads:
            while thread.is_alive():  # join with a timeout stays interruptible by Ctrl-C
                thread.join(0.2)
        wall, cpu = clock() - wall, time.process_time() - cpu
        if errors:
            raise errors[0]
        samples = [s for chunk in per_thread for s in chunk]
        return len(samples), wall, cpu, samples

    def close(self) -> None:
        self.stop_event.set()
        for manager in self.managers:
            try:
                manager.stop()
            except Exception:  # the vhost may already be gone
                pass


# -- the run ----------------------------------------------------------------


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if k < extra else 0) for k in range(parts)]


def measure(args: argparse.Namespace, amqp_uri: str, say) -> tuple[dict[str, Figures], str]:
    client = ClientSide(amqp_uri, args.loop)
    proxy = ProxySide(amqp_uri, args.concurrency)
    sides = {CLIENT: client, PROXY: proxy}
    figures = {CLIENT: Figures(), PROXY: Figures()}
    try:
        say(f"connecting: {CLIENT} ({client.loop_name}) and {args.concurrency} x {PROXY}")
        client.start()
        proxy.start()

        say("warming up")
        warm_calls = max(4 * args.concurrency, 200)
        for side in sides.values():
            side.sequential(100, offset=0)
            side.concurrent(warm_calls, args.concurrency)

        order = [CLIENT, PROXY]
        for k, n in enumerate(_split(args.sequential, args.rounds)):
            for name in order if k % 2 == 0 else order[::-1]:
                say(f"sequential round {k + 1}/{args.rounds}: {name}, {n} calls")
                figures[name].sequential += sides[name].sequential(n, offset=k * n)

        for k, n in enumerate(_split(args.calls, args.rounds)):
            for name in order if k % 2 == 0 else order[::-1]:
                say(f"concurrent round {k + 1}/{args.rounds}: {name}, {n} calls, {args.concurrency} in flight")
                calls, wall, cpu, samples = sides[name].concurrent(n, args.concurrency)
                fig = figures[name]
                fig.concurrent_calls += calls
                fig.concurrent_wall += wall
                fig.concurrent_cpu += cpu
                fig.loaded += samples
        return figures, client.loop_name
    finally:
        proxy.close()
        client.close()


def report(figures: dict[str, Figures], args: argparse.Namespace, loop_name: str) -> bool:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    c, p = figures[CLIENT], figures[PROXY]
    ms = lambda seconds: f"{seconds * 1000:.2f}"  # noqa: E731

    table = Table(title=f"Nameko echo RPC: {args.sequential} sequential calls, "
                        f"{args.calls} calls with {args.concurrency} in flight, {os.cpu_count()} CPUs")
    table.add_column("figure")
    table.add_column(f"{CLIENT} (aio-pika, {loop_name})", justify="right")
    table.add_column(f"{PROXY} ({args.concurrency} threads, unpatched)", justify="right")
    table.add_row("sequential p50 (ms)", ms(c.p("sequential", 0.50)), ms(p.p("sequential", 0.50)))
    table.add_row("sequential p99 (ms)", ms(c.p("sequential", 0.99)), ms(p.p("sequential", 0.99)))
    table.add_row("concurrent calls/s", f"{c.throughput:.0f}", f"{p.throughput:.0f}")
    table.add_row("concurrent p50 (ms)", ms(c.p("loaded", 0.50)), ms(p.p("loaded", 0.50)))
    table.add_row("concurrent p99 (ms)", ms(c.p("loaded", 0.99)), ms(p.p("loaded", 0.99)))
    table.add_row("client CPU per call (µs)", f"{c.cpu_per_call * 1e6:.0f}", f"{p.cpu_per_call * 1e6:.0f}")
    console.print(table)

    throughput_ratio = c.throughput / p.throughput if p.throughput else float("inf")
    latency_ratio = c.p("sequential", 0.50) / p.p("sequential", 0.50)
    ratios = Table(title=f"{CLIENT} / {PROXY}")
    ratios.add_column("ratio")
    ratios.add_column("value", justify="right")
    ratios.add_column("target", justify="right")
    ratios.add_column("verdict")
    ok_throughput = throughput_ratio >= THROUGHPUT_TARGET
    ok_latency = latency_ratio <= LATENCY_TARGET
    verdict = lambda ok: "[green]PASS[/green]" if ok else "[red]MISS[/red]"  # noqa: E731
    ratios.add_row("throughput (calls/s)", f"{throughput_ratio:.2f}", f">= {THROUGHPUT_TARGET}", verdict(ok_throughput))
    ratios.add_row("sequential p50 latency", f"{latency_ratio:.2f}", f"<= {LATENCY_TARGET}", verdict(ok_latency))
    console.print(ratios)
    return ok_throughput and ok_latency


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=5000, help="calls in the concurrent phase, per client (5000)")
    parser.add_argument("--concurrency", type=int, default=64, help="calls in flight in the concurrent phase (64)")
    parser.add_argument("--sequential", type=int, default=2000, help="calls in the sequential phase, per client (2000)")
    parser.add_argument("--amqp", default=os.environ.get("AGENTHUB_TEST_BROKER", "amqp://guest:guest@127.0.0.1:5672"),
                        help="the broker, without vhost: a vhost is created on it for the run "
                             "(default: $AGENTHUB_TEST_BROKER or amqp://guest:guest@127.0.0.1:5672)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="split each phase into this many blocks, alternating which client goes first (2)")
    parser.add_argument("--loop", choices=("auto", "uvloop", "asyncio"), default="auto",
                        help="RpcClient's event loop; auto = uvloop when installed, as uvicorn picks (auto)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a ratio misses its target")
    args = parser.parse_args(argv)
    for name in ("calls", "concurrency", "sequential", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    args.rounds = min(args.rounds, args.sequential, args.calls)
    return args


def _raise_keyboard_interrupt(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)  # clean up on kill/timeout too

    from tests.support import stack

    stack.BROKER = args.amqp  # Isolation.amqp_uri and rabbitmqctl's vhost live on this broker
    started = time.monotonic()
    say = lambda text: print(f"[{time.monotonic() - started:5.1f}s] {text}", file=sys.stderr, flush=True)  # noqa: E731

    data_dir = Path(tempfile.mkdtemp(prefix="agenthub-bench-"))
    isolation = stack.Isolation(data_dir=data_dir)
    service = None
    figures = None
    try:
        say(f"creating vhost {isolation.vhost}")
        isolation.create()
        say("starting the echo service (nameko run)")
        service = stack.ServiceProcess(isolation, "tests.support.echo_service", "echo").wait_until_consuming()
        figures, loop_name = measure(args, isolation.amqp_uri, say)
    except KeyboardInterrupt:
        say("interrupted; cleaning up")
        return 130
    finally:
        # A second Ctrl-C must not leave the vhost or the service behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if service is not None:
            service.stop()
        try:
            isolation.destroy()
        except Exception as exc:  # e.g. interrupted before the vhost existed
            say(f"cleanup: {exc!r}")
        shutil.rmtree(data_dir, ignore_errors=True)
        say("cleaned up")
        signal.signal(signal.SIGINT, signal.default_int_handler)

    ok = report(figures, args, loop_name)
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
