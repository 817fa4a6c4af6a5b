"""Benchmark: the agent's own overhead, with a scripted model that answers at once.

Starts, in its own RabbitMQ vhost and Redis prefix: the rag and agent services
(``nameko run``), a scripted OpenAI-compatible model server and the gateway
(uvicorn, in this process), then measures in the same run:

* **overhead per tool step** (gateway → agent → rag → back): ``runAgent``
  with ``--steps`` search_documents calls minus ``runAgent`` with none,
  divided by the number of steps, is the cost of one step; the baseline, one
  ``rag.search`` RPC straight from an asyncio client, is the work a step
  cannot avoid (rag's hybrid retrieval). Overhead = step − baseline: one more
  model round trip, the Haystack loop, the RPC hop and the step's stream
  events. Target: < 15 ms.
* **token latency**: from the model server writing a token to the
  subscriber receiving it on the ``agentRun`` WebSocket (same process, same
  clock). Baseline: one Redis Stream hop (XADD → blocking XREAD), the floor
  of any relay through Redis. Target: p50 < 20 ms.

Usage::

    .venv/bin/python bench/agent.py [--runs 30] [--steps 4] [--tokens 200] [--check]

Exit status 0 (it is a benchmark), or with ``--check`` 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import threading
import time
import uuid
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", category=DeprecationWarning)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import redis  # noqa: E402
import uvicorn  # noqa: E402
import websockets  # noqa: E402

from core.settings import CommonSettings  # noqa: E402
from core.tokens import TokenCodec  # noqa: E402
from gateway.app import create_app  # noqa: E402
from gateway.rpc import RpcClient  # noqa: E402
from tests.support.accounts import mark_revocations_published  # noqa: E402
from tests.support.gateway import gateway_settings  # noqa: E402
from tests.support.scripted_llm import ScriptedLLM, Text, ToolCalls  # noqa: E402
from tests.support.stack import REDIS_URL, Isolation, ServiceProcess  # noqa: E402

RUN = "mutation($i: AgentRunInput!) { runAgent(input: $i) { status steps { tool } } }"
SUBSCRIBE = "subscription($i: AgentRunInput!) { agentRun(input: $i) { seq type delta } }"


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def token_for(user: str) -> str:
    return (
        TokenCodec(CommonSettings(env="development"))
        .issue(subject=user, role="user", session_id=uuid.uuid4().hex, ttl=3600)
        .token
    )


async def run_agent(client: httpx.AsyncClient, url: str, token: str, message: str) -> float:
    started = time.perf_counter()
    response = await client.post(
        f"{url}/graphql",
        json={"query": RUN, "variables": {"i": {"message": message}}},
        headers={"authorization": f"Bearer {token}"},
    )
    elapsed = time.perf_counter() - started
    body = response.json()
    assert body.get("data") and body["data"]["runAgent"]["status"] == "FINISHED", body
    return elapsed


async def step_overhead(
    llm: ScriptedLLM, url: str, amqp_uri: str, token: str, runs: int, steps: int
) -> dict[str, float]:
    async with httpx.AsyncClient(timeout=60) as client:
        for kind in ("warm", "zero", "many"):
            llm.script(
                f"bench-{kind}",
                [ToolCalls([("search_documents", {"query": "lighthouse height"})])]
                * (steps if kind == "many" else 1 if kind == "warm" else 0)
                + [Text(["Done."])],
            )
        for _ in range(3):
            await run_agent(client, url, token, "bench-warm")
        zero, many = [], []
        for _ in range(runs):  # interleaved, so load drift favours neither
            zero.append(await run_agent(client, url, token, "bench-zero"))
            many.append(await run_agent(client, url, token, "bench-many"))
    rpc = RpcClient(amqp_uri, name="bench-agent")
    await rpc.start(wait=10)
    direct = []
    try:
        for _ in range(runs * 3):
            started = time.perf_counter()
            await rpc.call(
                "rag", "search", [], {"query": "lighthouse height", "top_k": 5}, context={"auth_token": token}
            )
            direct.append(time.perf_counter() - started)
    finally:
        await rpc.close()
    per_step = (statistics.median(many) - statistics.median(zero)) / steps
    return {
        "per_step_ms": per_step * 1000,
        "direct_search_ms": statistics.median(direct) * 1000,
        "run_zero_ms": statistics.median(zero) * 1000,
        "run_many_ms": statistics.median(many) * 1000,
    }


async def token_latency(llm: ScriptedLLM, host: str, token: str, tokens: int) -> list[float]:
    marker = f"bench-tokens-{uuid.uuid4().hex[:6]}"
    llm.script(marker, [Text([f"t{i} " for i in range(tokens)], delay=0.005)])
    received: list[float] = []
    async with websockets.connect(f"ws://{host}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        await ws.recv()
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIBE, "variables": {"i": {"message": marker}}},
                }
            )
        )
        while True:
            message = json.loads(await ws.recv())
            if message["type"] != "next":
                break
            event = message["payload"]["data"]["agentRun"]
            if event["type"] == "TOKEN":
                received.append(time.monotonic())
            if event["type"] in ("RUN_FINISHED", "RUN_FAILED"):
                break
    emitted = llm.emitted[marker]
    assert len(emitted) == len(received) == tokens, (len(emitted), len(received))
    return [(r - e) * 1000 for e, r in zip(emitted, received)]


def redis_hop(prefix: str, samples: int) -> list[float]:
    """One XADD seen by a blocked XREAD in another thread: the floor of a relay through Redis."""
    key = f"{prefix}bench:hop"
    writer, reader = redis.Redis.from_url(REDIS_URL), redis.Redis.from_url(REDIS_URL)
    latencies: list[float] = []
    ready = threading.Event()

    def read() -> None:
        last = "0-0"
        ready.set()
        while len(latencies) < samples:
            for _, entries in reader.xread({key: last}, block=2000) or []:
                for entry, fields in entries:
                    last = entry
                    latencies.append((time.monotonic() - float(fields[b"t"])) * 1000)

    thread = threading.Thread(target=read)
    thread.start()
    ready.wait()
    for _ in range(samples):
        writer.xadd(key, {"t": repr(time.monotonic())})
        time.sleep(0.005)
    thread.join(10)
    writer.delete(key)
    return latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="runAgent calls per variant")
    parser.add_argument("--steps", type=int, default=4, help="tool steps of the measured variant")
    parser.add_argument("--tokens", type=int, default=200, help="tokens streamed for the latency figure")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731

    isolation = Isolation(data_prefix="agenthub-bench-agent-").create()
    mark_revocations_published(isolation.redis_prefix)  # no auth service in this stack
    llm = ScriptedLLM().start()
    processes: list[ServiceProcess] = []
    server = None
    try:
        say("starting rag and agent ...")
        processes.append(ServiceProcess(isolation, "services.rag.service", "rag").wait_until_consuming())
        processes.append(
            ServiceProcess(
                isolation,
                "services.agent.service",
                "agent",
                AGENTHUB_LLM_BACKEND="openai",
                AGENTHUB_LLM_BASE_URL=llm.base_url,
                AGENTHUB_LLM_MODEL="scripted",
                AGENTHUB_AGENT_MAX_STEPS="20",
            ).wait_until_consuming()
        )
        settings = gateway_settings(isolation, rate_limit_authenticated="1000000/minute")
        os.environ.setdefault("AGENTHUB_ENV", "development")
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        host = f"127.0.0.1:{port}"
        token = token_for(f"bench-{uuid.uuid4().hex[:6]}")

        async def ingest() -> None:
            rpc = RpcClient(isolation.amqp_uri, name="bench-ingest")
            await rpc.start(wait=10)
            job = await rpc.call(
                "rag",
                "ingest_text",
                [],
                {
                    "title": "Lighthouse",
                    "text": "The Fastnet lighthouse stands 54 metres tall and was completed in 1904.",
                },
                context={"auth_token": token},
            )
            while job["status"] not in ("DONE", "FAILED"):
                await asyncio.sleep(0.1)
                job = await rpc.call("rag", "job", [], {"job_id": job["id"]}, context={"auth_token": token})
            await rpc.close()

        asyncio.run(ingest())
        say(f"measuring {args.runs} runs x 2 variants ...")
        steps = asyncio.run(step_overhead(llm, f"http://{host}", isolation.amqp_uri, token, args.runs, args.steps))
        say(f"streaming {args.tokens} tokens ...")
        latencies = asyncio.run(token_latency(llm, host, token, args.tokens))
        hop = redis_hop(isolation.redis_prefix, 200)
    finally:
        if server is not None:
            server.should_exit = True
        for process in processes:
            process.stop()
        llm.stop()
        isolation.destroy()

    p50, p99, hop50 = percentile(latencies, 50), percentile(latencies, 99), percentile(hop, 50)
    overhead = steps["per_step_ms"] - steps["direct_search_ms"]
    step_ok, token_ok = overhead < 15, p50 < 20
    print(f"runAgent, 0 tool steps          median {steps['run_zero_ms']:8.2f} ms")
    print(f"runAgent, {args.steps} tool steps          median {steps['run_many_ms']:8.2f} ms")
    print(f"one tool step (gw→agent→rag→back)      {steps['per_step_ms']:8.2f} ms")
    print(
        f"  baseline: rag.search RPC direct      {steps['direct_search_ms']:8.2f} ms   "
        f"ratio step/search {steps['per_step_ms'] / steps['direct_search_ms']:.2f}"
    )
    print(f"overhead per tool step (step − search) {overhead:8.2f} ms   target < 15 ms  {'OK' if step_ok else 'MISS'}")
    print(
        f"token latency (model → subscriber)     p50 {p50:6.2f} ms  p99 {p99:6.2f} ms   target p50 < 20 ms  "
        f"{'OK' if token_ok else 'MISS'}"
    )
    print(f"  baseline: one Redis Stream hop       p50 {hop50:6.2f} ms   ratio {p50 / hop50:.1f}")
    return 1 if args.check and not (step_ok and token_ok) else 0


if __name__ == "__main__":
    sys.exit(main())
