"""``agenthub up --scale gateway=2,auth=2,agent=2`` on PostgreSQL: one consistent world.

One stack for the module (it takes minutes to start on a loaded 2-core machine). The gateway
instances share one port (SO_REUSEPORT): the kernel picks one per new connection, so every
request here opens a fresh connection and the ``X-AgentHub-Instance`` header says which
instance served it; "the other instance" is reached by trying fresh connections.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import psutil
import pytest
import websockets

from gateway.rpc import RpcClient
from tests.support.postgres import fresh_database
from tests.support.scaled import INSTANCE_HEADER, ScaledStack
from tests.support.scripted_llm import Text
from tests.support.stack import ROOT, Isolation, consumer_count

pytestmark = [pytest.mark.scale, pytest.mark.timeout(900)]

SCALE = "gateway=2,auth=2,agent=2,rag=1"
EVENT_FIELDS = "runId seq type delta"
TRIES = 60  # fresh connections tried to reach a given gateway instance (each 1/2)


@pytest.fixture(scope="module")
def scaled(tmp_path_factory, llm):
    data = tmp_path_factory.mktemp("scaled")
    isolation = Isolation(data_dir=data / "data").create()
    try:
        with fresh_database() as database_url:
            stack = ScaledStack(
                isolation,
                SCALE,
                data / "up.log",
                AGENTHUB_DATABASE_URL=database_url,
                AGENTHUB_RAG_DATABASE_URL=database_url,
                AGENTHUB_RATE_LIMIT_ANONYMOUS="10/minute",
                AGENTHUB_RATE_LIMIT_AUTHENTICATED="100000/minute",
                AGENTHUB_LLM_BACKEND="openai",
                AGENTHUB_LLM_BASE_URL=llm.base_url,
                AGENTHUB_LLM_MODEL="scripted",
                AGENTHUB_LLM_TIMEOUT="10",
                AGENTHUB_AGENT_RUN_TIMEOUT="60",
                AGENTHUB_LOG_LEVEL="WARNING",
            )
            try:
                yield stack.wait_ready()
            finally:
                stack.stop()
    finally:
        isolation.destroy()


# -- one request on a fresh connection: (instance, body) --------------------------------------


def client_ip() -> str:
    """Anonymous budgets are per client IP; the gateway trusts X-Forwarded-For from 127.0.0.1."""
    return f"198.51.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"


def post(
    stack: ScaledStack, query: str, variables: dict | None = None, token: str | None = None, ip: str | None = None
) -> tuple[str, dict]:
    headers = {"connection": "close", "x-forwarded-for": ip or client_ip()}
    if token:
        headers["authorization"] = f"Bearer {token}"
    with httpx.Client(timeout=30) as client:
        response = client.post(
            f"{stack.url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
    assert response.status_code == 200, response.text
    return response.headers[INSTANCE_HEADER], response.json()


def on_every_gateway(
    stack: ScaledStack, query: str, variables: dict | None = None, token: str | None = None, until=lambda body: True
) -> dict[str, dict]:
    """The query on fresh connections until each gateway instance gave an answer ``until`` accepts."""
    answers: dict[str, dict] = {}
    for _ in range(TRIES * 4):
        instance, body = post(stack, query, variables, token)
        if until(body):
            answers[instance] = body
        if len(answers) == stack.counts["gateway"]:
            return answers
        time.sleep(0.05)
    raise AssertionError(f"not answered by every gateway instance: {answers}")


def code(body: dict) -> str | None:
    errors = body.get("errors") or []
    return errors[0].get("extensions", {}).get("code") if errors else None


def sign_up(stack: ScaledStack) -> str:
    username, password = f"u{uuid.uuid4().hex[:10]}", "a long scale passphrase"
    _, body = post(
        stack,
        "mutation($i: RegisterInput!) { register(input: $i) { id } }",
        {"i": {"username": username, "password": password}},
    )
    assert code(body) is None, body
    _, body = post(
        stack,
        "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
        {"i": {"username": username, "password": password}},
    )
    return body["data"]["login"]["accessToken"]


# -- the tests -------------------------------------------------------------------------------


def test_every_instance_serves_a_share(scaled):
    gateways = Counter(post(scaled, "{ __typename }")[0] for _ in range(40))
    assert set(gateways) == {"gateway-1", "gateway-2"} and min(gateways.values()) >= 4, gateways

    async def health_instances(service: str) -> Counter:
        rpc = RpcClient(scaled.isolation.amqp_uri, name="scale-test")
        await rpc.start(wait=10)
        try:
            return Counter([(await rpc.call(service, "health", timeout=10))["instance"] for _ in range(40)])
        finally:
            await rpc.close()

    for service in ("auth", "agent"):
        served = asyncio.run(health_instances(service))
        assert set(served) == {f"{service}-1", f"{service}-2"} and min(served.values()) >= 4, (service, served)


def test_rate_limit_is_exact_across_gateway_instances(scaled):
    ip = client_ip()
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(lambda _: post(scaled, "{ health { status } }", ip=ip), range(50)))
    codes = Counter(code(body) for _, body in results)
    assert codes == {None: 10, "RATE_LIMITED": 40}, codes
    assert {instance for instance, _ in results} == {"gateway-1", "gateway-2"}


def test_logout_on_one_instance_refuses_the_token_on_the_other_at_once(scaled):
    token = sign_up(scaled)
    me = "{ me { id } }"
    assert all(code(body) is None for body in on_every_gateway(scaled, me, token=token).values())
    instance, body = post(scaled, "mutation { logout }", token=token)
    assert body["data"]["logout"] is True
    refused = on_every_gateway(scaled, me, token=token, until=lambda b: True)
    assert {i: code(b) for i, b in refused.items()} == {
        "gateway-1": "UNAUTHENTICATED",
        "gateway-2": "UNAUTHENTICATED",
    }, (instance, refused)


class Subscription:
    """A graphql-transport-ws subscription on a fresh connection; ``instance`` served it."""

    def __init__(self, stack: ScaledStack, token: str) -> None:
        self.uri, self.token = stack.url.replace("http://", "ws://") + "/graphql", token

    async def open(self, avoid: str | None = None) -> Subscription:
        for _ in range(TRIES):
            self.ws = await websockets.connect(self.uri, subprotocols=["graphql-transport-ws"])
            self.instance = self.ws.response.headers[INSTANCE_HEADER]
            if self.instance != avoid:
                break
            await self.ws.close()
        else:
            raise AssertionError(f"every connection landed on {avoid}")
        await self.ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}})
        )
        assert json.loads(await asyncio.wait_for(self.ws.recv(), 10))["type"] == "connection_ack"
        return self

    async def subscribe(self, query: str, variables: dict) -> None:
        await self.ws.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}})
        )

    async def events(self, field: str, limit: int | None = None) -> list[dict]:
        events: list[dict] = []
        while limit is None or len(events) < limit:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), 30))
            if message["type"] != "next":
                assert message["type"] == "complete", message
                break
            assert "errors" not in message["payload"], message
            events.append(message["payload"]["data"][field])
            if events[-1]["type"] in ("RUN_FINISHED", "RUN_FAILED"):
                break
        return events

    async def close(self) -> None:
        await self.ws.close()


def test_a_run_started_on_one_gateway_streams_and_resumes_on_the_other(scaled, llm):
    marker = f"scale-{uuid.uuid4().hex[:8]}"
    pieces = [f"p{i} " for i in range(40)]
    llm.script(marker, [Text(pieces, delay=0.05)])
    token = sign_up(scaled)

    async def scenario():
        starter = await Subscription(scaled, token).open()
        await starter.subscribe(
            f"subscription($i: AgentRunInput!) {{ agentRun(input: $i) {{ {EVENT_FIELDS} }} }}",
            {"i": {"message": f"Stream across gateways {marker}"}},
        )
        first = await starter.events("agentRun", limit=6)
        await starter.close()  # the client drops; the run goes on
        run_id, last_seq = first[0]["runId"], first[-1]["seq"]
        other = await Subscription(scaled, token).open(avoid=starter.instance)
        await other.subscribe(
            f"subscription($id: ID!, $after: Int!) {{ agentRunEvents(runId: $id, afterSeq: $after) "
            f"{{ {EVENT_FIELDS} }} }}",
            {"id": run_id, "after": last_seq},
        )
        rest = await other.events("agentRunEvents")
        await other.close()
        return starter.instance, other.instance, first, rest

    started_on, resumed_on, first, rest = asyncio.run(scenario())
    assert started_on != resumed_on
    seqs = [e["seq"] for e in first + rest]
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    assert rest and rest[-1]["type"] == "RUN_FINISHED"
    assert [e["delta"] for e in first + rest if e["type"] == "TOKEN"] == pieces


def test_ingestion_progress_is_visible_on_every_gateway(scaled):
    token = sign_up(scaled)
    _, body = post(
        scaled,
        'mutation { ingestText(input: {title: "otters.md", text: "Sea otters hold hands '
        'while they sleep. They float on their backs."}) { id status } }',
        token=token,
    )
    job_id = body["data"]["ingestText"]["id"]
    deadline = time.monotonic() + 180
    seen: dict[str, dict] = {}
    while len(seen) < 2:
        assert time.monotonic() < deadline, f"job {job_id} not DONE on every gateway: {seen}"
        instance, body = post(
            scaled,
            "query($id: ID!) { ingestionJob(id: $id) { status progress documentId } }",
            {"id": job_id},
            token=token,
        )
        job = body["data"]["ingestionJob"]
        assert job["status"] in ("QUEUED", "RUNNING", "DONE"), job
        if job["status"] == "DONE":
            seen[instance] = job
        time.sleep(0.2)
    assert [j["progress"] for j in seen.values()] == [1.0, 1.0]
    assert len({j["documentId"] for j in seen.values()}) == 1


def _load(stack: ScaledStack, token: str, stop: threading.Event, results: list) -> None:
    """``me`` (gateway → auth) in a loop; each result is (when it started, outcome)."""
    while not stop.is_set():
        started = time.monotonic()
        try:
            _, body = post(stack, "{ me { id } }", token=token)
            results.append((started, code(body) or "OK"))
        except (httpx.HTTPError, AssertionError) as exc:
            results.append((started, f"{type(exc).__name__}: {exc}"))


def test_sigkill_of_one_instance_loses_no_request(scaled):
    token = sign_up(scaled)
    for name in ("auth", "gateway"):
        victim = scaled.instances(name)[f"{name}-1"]
        stop, results = threading.Event(), []
        workers = [threading.Thread(target=_load, args=(scaled, token, stop, results)) for _ in range(6)]
        for worker in workers:
            worker.start()
        time.sleep(1.5)
        victim.send_signal(signal.SIGKILL)
        psutil.wait_procs([victim], timeout=10)
        dead_at = time.monotonic()
        time.sleep(3)
        stop.set()
        for worker in workers:
            worker.join(30)
        outcomes = Counter(outcome for _, outcome in results)
        after = Counter(outcome for started, outcome in results if started > dead_at)
        assert after["OK"] >= 5, outcomes
        if name == "auth":  # what the dead instance had taken is redelivered to the other: nothing lost
            assert set(outcomes) == {"OK"}, outcomes
        else:  # requests in flight on the dead gateway die with it; every one started after is served
            assert set(after) == {"OK"}, after

        # The supervisor restarts that instance alone.
        deadline = time.monotonic() + 300
        while True:
            instance = scaled.instances(name).get(f"{name}-1")
            if (
                instance is not None
                and instance.pid != victim.pid
                and (name != "auth" or consumer_count(scaled.isolation, "auth") == 2)
            ):
                break
            assert time.monotonic() < deadline, f"{name}-1 not restarted:\n{scaled.log()[-3000:]}"
            time.sleep(0.5)


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["--scale", "rag=2"], {}, "AGENTHUB_DOCUMENT_STORE=elasticsearch"),
        ([], {"AGENTHUB_SCALE": "auth=2,web=1"}, "NAME one of auth, agent, rag, gateway"),
    ],
)
def test_up_refuses_a_scale_it_cannot_run(tmp_path, args, env, says):
    isolation = Isolation(data_dir=tmp_path)  # no vhost needed: refused before anything starts
    result = subprocess.run(
        [sys.executable, "-m", "agenthub", "up", *args],
        env=isolation.env(**env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert says in result.stderr and "Traceback" not in result.stderr
