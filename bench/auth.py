"""Benchmark: an authenticated ``me`` query against a trivial anonymous query.

Same gateway, same run: the gateway (``agenthub gateway``) and the three
services run as real processes on their own RabbitMQ vhost; this process
registers and signs in a user, then drives both queries with ``--concurrency``
connections in alternating rounds and prints requests/s of each and the ratio
(target: ``me`` at least 0.75 of the trivial query's throughput).

``me`` costs the edge's JWT verification (remembered per token), one Redis
script that reads the revocation facts and the profile auth cached and takes
the rate limit (the trivial query's one round trip is the rate limit alone),
and the field's execution; it is answered at the edge without an RPC (the
first ``me`` of the warm-up asks auth, which caches the profile). Beside
requests/s it prints the gateway process's CPU per request of each query
(steadier than requests/s on a shared machine) and the load average.

Usage::

    .venv/bin/python bench/auth.py [--seconds 4] [--rounds 3] [--concurrency 16] [--check]

The load comes from ``wrk`` (Debian package ``wrk``) when it is installed, else
from httpx in this process, which then competes for the same two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
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

TARGET = 0.75  # issue 14 (0.5 before)
TRIVIAL = {"query": "{ __typename }"}
ME = {"query": "{ me { id username role } }"}


async def sign_in(base: str) -> str:
    async with httpx.AsyncClient(base_url=base) as client:
        await client.post(
            "/graphql",
            json={
                "query": "mutation($i: RegisterInput!) { register(input: $i) { id } }",
                "variables": {"i": {"username": "bench_user", "password": "correct horse battery"}},
            },
        )
        reply = (
            await client.post(
                "/graphql",
                json={
                    "query": "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
                    "variables": {"i": {"username": "bench_user", "password": "correct horse battery"}},
                },
            )
        ).json()
        return reply["data"]["login"]["accessToken"]


def drive_wrk(base: str, body: dict, headers: dict, seconds: float, concurrency: int) -> float:
    """Requests per second measured by wrk: a load generator in C, so the
    client's own CPU takes little from the two cores the system shares."""
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = {json.dumps(json.dumps(body))}",
        'wrk.headers["Content-Type"] = "application/json"',
    ]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    # Any GraphQL error in any response is printed, and fails the run below.
    lines += [
        "response = function(status, headers, body)",
        '  if string.find(body, \'"errors"\', 1, true) then io.write("GRAPHQL_ERROR " .. body .. "\\n") end',
        "end",
    ]
    script.write("\n".join(lines) + "\n")
    script.close()
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "-s", script.name, f"{base}/graphql"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    if "Non-2xx" in out or "GRAPHQL_ERROR" in out:
        raise RuntimeError(f"benchmark requests failed:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rate, int(re.search(r"(\d+) requests in", out).group(1))


async def measure(base: str, body: dict, headers: dict, seconds: float, concurrency: int) -> float:
    """Requests/s (bench/observability.py and bench/scale.py use it too)."""
    return (await measure_counted(base, body, headers, seconds, concurrency))[0]


async def measure_counted(base: str, body: dict, headers: dict, seconds: float, concurrency: int) -> tuple[float, int]:
    """Requests/s, and how many requests completed."""
    if shutil.which("wrk"):
        return await asyncio.to_thread(drive_wrk, base, body, headers, seconds, concurrency)
    return await drive_counted(base, body, headers, seconds, concurrency)


async def measure_cpu(
    base: str, body: dict, headers: dict, seconds: float, concurrency: int, gateway: psutil.Process
) -> tuple[float, float]:
    """Requests/s, and the gateway process's CPU seconds per request meanwhile."""
    before = sum(gateway.cpu_times()[:2])
    rate, requests = await measure_counted(base, body, headers, seconds, concurrency)
    return rate, (sum(gateway.cpu_times()[:2]) - before) / max(1, requests)


async def drive(base: str, body: dict, headers: dict, seconds: float, concurrency: int) -> float:
    """Requests per second that completed without errors (httpx: used when wrk is absent)."""
    return (await drive_counted(base, body, headers, seconds, concurrency))[0]


async def drive_counted(base: str, body: dict, headers: dict, seconds: float, concurrency: int) -> tuple[float, int]:
    """Requests per second that completed without errors, and how many."""
    done = 0
    stop_at = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=10) as client:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop_at:
                reply = (await client.post("/graphql", json=body)).json()
                if reply.get("errors"):
                    raise RuntimeError(f"benchmark request failed: {reply['errors']}")
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.perf_counter() - started), done


async def run(args) -> int:
    isolation = Isolation(data_prefix="agenthub-bench-auth-").create()
    processes: list = []
    gateway = None
    try:
        for name in ("auth", "agent", "rag"):
            processes.append(ServiceProcess(isolation, f"services.{name}.service", name))
        for process in processes:
            process.wait_until_consuming()
        gateway = GatewayProcess(
            isolation,
            AGENTHUB_RATE_LIMIT_AUTHENTICATED="1000000/minute",
            AGENTHUB_RATE_LIMIT_ANONYMOUS="1000000/minute",
            AGENTHUB_LOG_LEVEL="WARNING",
        )
        port = gateway.port
        base = f"http://127.0.0.1:{port}"
        await wait_ready(base)
        token = await sign_in(base)
        auth = {"authorization": f"Bearer {token}"}
        await drive(base, TRIVIAL, {}, 1, args.concurrency)  # warm up, and check both answer without errors
        await drive(base, ME, auth, 1, args.concurrency)
        process = psutil.Process(gateway.process.pid)
        trivial: list[tuple[float, float]] = []
        me: list[tuple[float, float]] = []
        loads = [os.getloadavg()[0]]
        for round_ in range(args.rounds):  # alternate the order so drift favours neither
            pair = [(trivial, TRIVIAL, {}), (me, ME, auth)]
            for figures, body, headers in pair if round_ % 2 == 0 else pair[::-1]:
                figures.append(await measure_cpu(base, body, headers, args.seconds, args.concurrency, process))
            loads.append(os.getloadavg()[0])
        trivial_rps, me_rps = median([r for r, _ in trivial]), median([r for r, _ in me])
        trivial_cpu, me_cpu = median([c for _, c in trivial]), median([c for _, c in me])
        ratio = me_rps / trivial_rps
        driver = "wrk" if shutil.which("wrk") else "httpx"
        table = Table(
            title=f"Gateway throughput, {args.concurrency} connections ({driver}), median of {args.rounds} rounds"
        )
        table.add_column("query")
        table.add_column("requests/s", justify="right")
        table.add_column("gateway CPU per request", justify="right")
        table.add_row("trivial, anonymous: { __typename }", f"{trivial_rps:,.0f}", f"{trivial_cpu * 1e6:,.0f} µs")
        table.add_row("authenticated: { me { … } }", f"{me_rps:,.0f}", f"{me_cpu * 1e6:,.0f} µs")
        console = Console()
        console.print(table)
        console.print(
            f"gateway CPU per request, trivial / me = {trivial_cpu / me_cpu:.2f}; "
            f"load average {min(loads):.1f}–{max(loads):.1f} (2 cores: above ~1 the requests/s compete)"
        )
        verdict = "PASS" if ratio >= TARGET else "MISS"
        console.print(f"me / trivial = {ratio:.2f}  (target ≥ {TARGET})  {verdict}")
        return 1 if args.check and ratio < TARGET else 0
    finally:
        if gateway is not None:
            gateway.stop()
        for process in processes:
            process.stop()
        isolation.destroy()


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


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
