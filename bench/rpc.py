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
        [--rounds 2] [--loop auto|uvloop|asyncio] [--budget 100]

Besides calls/s it reports the CPU each call costs in the client, the service
and the (local) broker, and how much CPU other processes took meanwhile: on a
shared machine calls/s mostly measures the scheduler, CPU per call does not.

Exit status 0 (it is a benchmark), or with ``--check`` 1 when a ratio misses
its target.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make gateway/, tests/ importable
    sys.path.insert(0, str(ROOT))

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
warnings.filterwarnings("ignore", category=DeprecationWarning)

THROUGHPUT_TARGET = 2.2  # RpcClient calls/s / ClusterRpcProxy calls/s >= this (issue 14; 1.2 before)
LATENCY_TARGET = 1.0  # RpcClient sequential p50 / ClusterRpcProxy p50 <= this
CPU_TARGET_MS = 1.0  # RpcClient's CPU per call, client + service + broker, <= this
CALL_TIMEOUT = 10.0
CLIENT = "RpcClient"
PROXY = "ClusterRpcProxy"


def payload(i: int) -> dict:
    return {"i": i, "text": "hello, echo"}


# -- figures ---------------------------------------------------------------


@dataclass
class Figures:
    sequential: list[float] = field(default_factory=list)  # seconds per call
    loaded: list[float] = field(default_factory=list)  # seconds per call, under load
    concurrent_calls: int = 0
    concurrent_wall: float = 0.0
    concurrent_cpu: float = 0.0  # CPU-seconds of this process in the concurrent phase
    service_cpu: float = 0.0  # ... of the echo service process
    broker_cpu: float = 0.0  # ... of the local RabbitMQ node (nan if not local)
    machine_busy: float = 0.0  # ... of the whole machine (all processes)
    metered_wall: float = 0.0  # the wall time those CPU figures cover

    @property
    def throughput(self) -> float:
        return self.concurrent_calls / self.concurrent_wall if self.concurrent_wall else 0.0

    def p(self, which: str, q: float) -> float:
        samples = sorted(getattr(self, which))
        if not samples:
            return float("nan")
        return samples[min(len(samples) - 1, int(q * len(samples)))]

    def per_call(self, cpu_seconds: float) -> float:
        return cpu_seconds / self.concurrent_calls if self.concurrent_calls else float("nan")

    @property
    def total_cpu(self) -> float:
        """CPU-seconds of client, service and broker (the broker's only when it is local)."""
        return sum(cpu for cpu in (self.concurrent_cpu, self.service_cpu, self.broker_cpu) if not math.isnan(cpu))

    @property
    def others_share(self) -> float:
        """Share of the machine's CPU time used by processes other than these three."""
        total = self.metered_wall * (os.cpu_count() or 1)
        return max(0.0, self.machine_busy - self.total_cpu) / total if total else float("nan")


# -- CPU accounting (Linux /proc; figures are nan elsewhere) ---------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_cpu(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
    except (OSError, IndexError, ValueError):
        return float("nan")


def _machine_busy() -> float:
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return (sum(values[:8]) - values[3] - values[4]) / _TICK  # all but idle and iowait
    except (OSError, ValueError, IndexError):
        return float("nan")


def _broker_pid(amqp_uri: str) -> int | None:
    """The pid of the local RabbitMQ node (beam.smp running ``-s rabbit boot``) serving ``amqp_uri``.

    With several nodes on the machine (the fault tests start private ones), the one holding the
    listening socket of the URI's port; None when there is no local node.
    """
    nodes = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"beam.smp" in cmdline and b"rabbit\0boot" in cmdline:
            nodes.append(int(entry.name))
    if len(nodes) < 2:
        return nodes[0] if nodes else None
    listening = _listening_inodes(urlsplit(amqp_uri).port or 5672)
    for pid in nodes:
        try:
            links = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
        except OSError:
            continue
        if any(f"socket:[{inode}]" in links for inode in listening):
            return pid
    return None


def _listening_inodes(port: int) -> set[str]:
    """Inodes of the TCP sockets listening on ``port`` (``/proc/net/tcp``, ``tcp6``)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(fields[9])
    return inodes


class CpuMeter:
    def __init__(self, service_pid: int | None, broker_pid: int | None) -> None:
        self.service_pid, self.broker_pid = service_pid, broker_pid

    def snapshot(self) -> tuple[float, float, float, float, float]:
        """(wall clock, CPU-seconds of this process, of the service, of the broker, of the machine)."""
        return (
            time.perf_counter(),
            time.process_time(),
            _process_cpu(self.service_pid),
            _process_cpu(self.broker_pid),
            _machine_busy(),
        )


# -- the gateway's client ----------------------------------------------------


class ClientSide:
    """``gateway.rpc.RpcClient`` on one event loop, driven phase by phase."""

    def __init__(self, amqp_uri: str, loop_kind: str) -> None:
        self.loop, self.loop_name = _new_loop(loop_kind)
        self.amqp_uri = amqp_uri
        self.client = None
        self._phase: asyncio.Task | None = None

    def run(self, coro):
        """Run one phase. A signal cancels the phase (so it never lands inside
        the client's connection callbacks) and is then raised here as KeyboardInterrupt."""
        self._phase = phase = self.loop.create_task(coro)
        received: list[int] = []

        def on_signal(signum: int) -> None:
            received.append(signum)
            phase.cancel()

        for signum in STOP_SIGNALS:
            self.loop.add_signal_handler(signum, on_signal, signum)
        try:
            return self.loop.run_until_complete(phase)
        except asyncio.CancelledError:
            if received:
                raise KeyboardInterrupt(_stop_reason(received[0])) from None
            raise
        finally:
            for signum in STOP_SIGNALS:
                self.loop.remove_signal_handler(signum)
            _install_signal_handlers()  # remove_signal_handler reset them

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
        """Close the client; after an interruption, first cancel the calls left running."""
        self.loop.set_exception_handler(lambda _loop, _context: None)  # no teardown noise
        interrupted = self._phase
        try:
            if interrupted is not None and not interrupted.done():
                interrupted.cancel()  # and with it the calls it awaits
                self.loop.run_until_complete(asyncio.wait([interrupted], timeout=2))
            if self.client is not None:
                self.run(asyncio.wait_for(self.client.close(), 5))
        except BaseException:  # interrupted again, or the vhost is already gone
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
        self.errors: list[BaseException] = []

    def start(self) -> None:
        import eventlet.patcher

        if eventlet.patcher.is_monkey_patched("socket") or eventlet.patcher.is_monkey_patched("thread"):
            raise RuntimeError("eventlet is monkey-patched in the benchmark process")
        for manager in self.managers:
            self.proxies.append(manager.start())

    def sequential(self, n: int, offset: int = 0) -> list[float]:
        # In a thread: a KeyboardInterrupt inside a proxy call leaves Nameko's
        # PollingQueueConsumer blocked for good in _setup_consumer() (it cancels
        # its consumer on a half-read connection). Signals reach only the main
        # thread, which stays free to clean up.
        samples: list[float] = []
        _join_all([self._thread(self._sequential, self.proxies[0], n, offset, samples)])
        if self.errors:
            raise self.errors[0]
        return samples

    def _sequential(self, proxy, n: int, offset: int, samples: list[float]) -> None:
        clock = time.perf_counter
        for i in range(offset, offset + n):
            if self.stop_event.is_set():
                return
            value = payload(i)
            started = clock()
            result = proxy.echo.echo(value)
            samples.append(clock() - started)
            if result != value:
                raise AssertionError(f"{PROXY}: wrong reply {result!r} for {value!r}")

    def _thread(self, target, *args) -> threading.Thread:
        def run() -> None:
            try:
                target(*args)
            except BaseException as exc:  # reported by the main thread
                self.errors.append(exc)
                self.stop_event.set()

        # Daemon threads: after Ctrl-C the main thread cleans up without
        # waiting for calls whose service is already gone.
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def concurrent(self, n: int, concurrency: int) -> tuple[int, float, float, list[float]]:
        concurrency = min(concurrency, len(self.proxies))
        counter, clock = itertools.count(), time.perf_counter
        per_thread: list[list[float]] = [[] for _ in range(concurrency)]
        barrier = threading.Barrier(concurrency + 1, timeout=30)

        def worker(proxy, samples: list[float]) -> None:
            barrier.wait()
            while not self.stop_event.is_set() and (i := next(counter)) < n:
                value = payload(i)
                started = clock()
                result = proxy.echo.echo(value)
                samples.append(clock() - started)
                if result != value:
                    raise AssertionError(f"{PROXY}: wrong reply {result!r} for {value!r}")

        threads = [self._thread(worker, proxy, samples) for proxy, samples in zip(self.proxies, per_thread)]
        barrier.wait()
        cpu, wall = time.process_time(), clock()
        _join_all(threads)
        wall, cpu = clock() - wall, time.process_time() - cpu
        if self.errors:
            raise self.errors[0]
        samples = [s for chunk in per_thread for s in chunk]
        return len(samples), wall, cpu, samples

    def close(self, abandon: bool = False) -> None:
        """Stop the proxies; ``abandon`` (after Ctrl-C): leave them to the vhost's deletion.

        A proxy is not thread-safe: closing one whose thread may still be in a
        call could block, and the process is about to exit anyway.
        """
        self.stop_event.set()
        if abandon:
            return
        for manager in self.managers:
            try:
                manager.stop()
            except Exception:  # the vhost may already be gone
                pass


def _join_all(threads: list[threading.Thread]) -> None:
    for thread in threads:
        while thread.is_alive():  # a join with a timeout stays interruptible by Ctrl-C
            thread.join(0.2)


# -- the run ----------------------------------------------------------------


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if k < extra else 0) for k in range(parts)]


def measure(args: argparse.Namespace, amqp_uri: str, meter: CpuMeter, say) -> tuple[dict[str, Figures], str]:
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
                before = meter.snapshot()
                calls, wall, _cpu, samples = sides[name].concurrent(n, args.concurrency)
                wall_m, client_cpu, service_cpu, broker_cpu, machine = (b - a for a, b in zip(before, meter.snapshot()))
                fig = figures[name]
                fig.concurrent_calls += calls
                fig.concurrent_wall += wall
                fig.loaded += samples
                fig.metered_wall += wall_m
                fig.concurrent_cpu += client_cpu
                fig.service_cpu += service_cpu
                fig.broker_cpu += broker_cpu
                fig.machine_busy += machine
    except BaseException:
        proxy.close(abandon=True)
        client.close()
        raise
    proxy.close()
    client.close()
    return figures, client.loop_name


def report(figures: dict[str, Figures], args: argparse.Namespace, loop_name: str) -> bool:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    c, p = figures[CLIENT], figures[PROXY]
    ms = lambda seconds: f"{seconds * 1000:.2f}"  # noqa: E731

    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    table = Table(
        title=f"Nameko echo RPC: {args.sequential} sequential calls, "
        f"{args.calls} calls with {args.concurrency} in flight, {os.cpu_count()} CPUs, "
        f"load average {load}"
    )
    table.add_column("figure", no_wrap=True)
    table.add_column(f"{CLIENT}\ngateway.amqp, {loop_name}", justify="right")
    table.add_column(f"{PROXY}\n{args.concurrency} threads, unpatched", justify="right")
    table.add_row("sequential p50 (ms)", ms(c.p("sequential", 0.50)), ms(p.p("sequential", 0.50)))
    table.add_row("sequential p99 (ms)", ms(c.p("sequential", 0.99)), ms(p.p("sequential", 0.99)))
    table.add_row("concurrent calls/s", f"{c.throughput:.0f}", f"{p.throughput:.0f}")
    table.add_row("concurrent p50 (ms)", ms(c.p("loaded", 0.50)), ms(p.p("loaded", 0.50)))
    table.add_row("concurrent p99 (ms)", ms(c.p("loaded", 0.99)), ms(p.p("loaded", 0.99)))
    us = lambda fig, cpu: f"{fig.per_call(cpu) * 1e6:.0f}"  # noqa: E731
    table.add_row("CPU/call, client (µs)", us(c, c.concurrent_cpu), us(p, p.concurrent_cpu))
    table.add_row("CPU/call, service (µs)", us(c, c.service_cpu), us(p, p.service_cpu))
    table.add_row("CPU/call, broker (µs)", us(c, c.broker_cpu), us(p, p.broker_cpu))
    table.add_row("CPU/call, all three (µs)", us(c, c.total_cpu), us(p, p.total_cpu))
    table.add_row("CPU taken by other processes", f"{c.others_share:.0%}", f"{p.others_share:.0%}")
    console.print(table)
    busy = max(c.others_share, p.others_share)
    if busy > 0.15:
        console.print(
            f"[yellow]warning: other processes used up to {busy:.0%} of the machine's CPU during the "
            "concurrent phase: calls/s are skewed by them; compare CPU per call, or run it again "
            "on a quiet machine.[/yellow]"
        )

    throughput_ratio = c.throughput / p.throughput if p.throughput else float("inf")
    latency_ratio = c.p("sequential", 0.50) / p.p("sequential", 0.50)
    ratios = Table(title=f"{CLIENT} / {PROXY}")
    ratios.add_column("ratio", no_wrap=True)
    ratios.add_column("value", justify="right")
    ratios.add_column("target", justify="right")
    ratios.add_column("verdict")
    ok_throughput = throughput_ratio >= THROUGHPUT_TARGET
    ok_latency = latency_ratio <= LATENCY_TARGET
    cpu_ms = c.per_call(c.total_cpu) * 1000
    ok_cpu = cpu_ms <= CPU_TARGET_MS
    verdict = lambda ok: "[green]PASS[/green]" if ok else "[red]MISS[/red]"  # noqa: E731
    ratios.add_row("throughput (calls/s)", f"{throughput_ratio:.2f}", f">= {THROUGHPUT_TARGET}", verdict(ok_throughput))
    ratios.add_row("sequential p50 latency", f"{latency_ratio:.2f}", f"<= {LATENCY_TARGET}", verdict(ok_latency))
    ratios.add_row(f"{CLIENT} CPU per call, all three (ms)", f"{cpu_ms:.2f}", f"<= {CPU_TARGET_MS}", verdict(ok_cpu))
    if c.total_cpu and p.total_cpu:  # calls per CPU-second: what calls/s would be with the cores to themselves
        efficiency = (c.concurrent_calls / c.total_cpu) / (p.concurrent_calls / p.total_cpu)
        ratios.add_row("calls per CPU-second (all three)", f"{efficiency:.2f}", "", "info")
    console.print(ratios)
    return ok_throughput and ok_latency and ok_cpu


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=5000, help="calls in the concurrent phase, per client (5000)")
    parser.add_argument("--concurrency", type=int, default=64, help="calls in flight in the concurrent phase (64)")
    parser.add_argument("--sequential", type=int, default=2000, help="calls in the sequential phase, per client (2000)")
    parser.add_argument(
        "--amqp",
        default=os.environ.get("AGENTHUB_TEST_BROKER", "amqp://guest:guest@127.0.0.1:5672"),
        help="the broker, without vhost: a vhost is created on it for the run "
        "(default: $AGENTHUB_TEST_BROKER or amqp://guest:guest@127.0.0.1:5672)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="split each phase into this many blocks, alternating which client goes first (2)",
    )
    parser.add_argument(
        "--loop",
        choices=("auto", "uvloop", "asyncio"),
        default="auto",
        help="RpcClient's event loop; auto = uvloop when installed, as uvicorn picks (auto)",
    )
    parser.add_argument(
        "--budget", type=int, default=100, help="stop (and clean up) after this many seconds; 0 = no limit (100)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a ratio misses its target")
    args = parser.parse_args(argv)
    for name in ("calls", "concurrency", "sequential", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    args.rounds = min(args.rounds, args.sequential, args.calls)
    return args


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)


def _stop_reason(signum: int) -> str:
    return {signal.SIGINT: "Ctrl-C", signal.SIGALRM: "over the --budget time limit"}.get(
        signum, f"signal {signal.Signals(signum).name}"
    )


def _raise_keyboard_interrupt(signum, _frame):
    raise KeyboardInterrupt(_stop_reason(signum))


def _install_signal_handlers() -> None:
    """Ctrl-C, kill, timeout(1) and the --budget alarm all end in main()'s cleanup.

    SIGINT explicitly too: a shell starting us in the background has it ignored.
    """
    for signum in STOP_SIGNALS:
        signal.signal(signum, _raise_keyboard_interrupt)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _install_signal_handlers()
    if args.budget:
        signal.alarm(args.budget)

    from tests.support import stack

    stack.BROKER = args.amqp  # Isolation.amqp_uri and rabbitmqctl's vhost live on this broker
    started = time.monotonic()
    say = lambda text: print(f"[{time.monotonic() - started:5.1f}s] {text}", file=sys.stderr, flush=True)  # noqa: E731

    isolation = stack.Isolation(data_prefix="agenthub-bench-rpc-")  # its data directory goes with destroy()
    service = None
    figures = None
    interrupted = False
    try:
        say(f"creating vhost {isolation.vhost}")
        isolation.create()
        say("starting the echo service (nameko run)")
        service = stack.ServiceProcess(isolation, "tests.support.echo_service", "echo")
        service.wait_until_consuming()
        meter = CpuMeter(service.process.pid, _broker_pid(args.amqp))
        figures, loop_name = measure(args, isolation.amqp_uri, meter, say)
        signal.alarm(0)
    except KeyboardInterrupt as exc:
        say(f"interrupted ({str(exc) or 'Ctrl-C'}); cleaning up")
        interrupted = True
        return 130
    finally:
        # A second Ctrl-C must not leave the vhost or the service behind.
        signal.alarm(0)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if service is not None:
            if interrupted and service.process.poll() is None:
                service.process.kill()  # its calls are abandoned: no graceful drain
            service.stop()
        try:
            isolation.destroy()
        except Exception as exc:  # e.g. interrupted before the vhost existed
            say(f"cleanup: {exc!r}")
        say("cleaned up")
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    ok = report(figures, args, loop_name)
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
