"""Fixtures of the agent's tests: a scripted model server and agent stacks on their own vhosts.

Each backend (openai, none, local) needs its own agent process, and the
shared ``stack`` fixture already runs an ``agent`` on the session's vhost;
so every stack here gets its own ``Isolation`` (vhost + Redis prefix),
created and destroyed like the session's.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
import websockets

from core.settings import CommonSettings
from core.tokens import TokenCodec
from gateway.app import create_app
from gateway.rpc import RpcClient
from schema.agent import TERMINAL_EVENTS, RunEvent
from tests.agent.scripted_llm import ScriptedLLM
from tests.support.accounts import mark_revocations_published
from tests.support.gateway import gateway_settings
from tests.support.stack import Isolation, ServiceProcess

SAMPLE_DB = Path(__file__).resolve().parents[2] / "services" / "agent" / "sample" / "shop.db"


@pytest.fixture(scope="session")
def llm() -> ScriptedLLM:
    server = ScriptedLLM().start()
    yield server
    server.stop()


def mint(user_id: str, role: str = "user") -> str:
    codec = TokenCodec(CommonSettings(env="development"))
    return codec.issue(subject=user_id, role=role, session_id=uuid.uuid4().hex, ttl=3600).token


@dataclass
class AgentStack:
    isolation: Isolation
    processes: list[ServiceProcess]
    sql_path: Path | None = None
    agent_env: dict[str, str] | None = None

    current_env: dict[str, str] | None = None

    def restart_agent(self, **env: str) -> None:
        """Replaces the agent process (the last one) by one with this environment."""
        self.processes[-1].stop()
        self.processes[-1] = ServiceProcess(self.isolation, "services.agent.service", "agent", **env)
        self.processes[-1].wait_until_consuming()
        self.current_env = env

    def use_agent(self, **env: str) -> None:
        """Restarts the agent only when its environment must change."""
        if env != self.current_env:
            self.restart_agent(**env)

    def rpc(self) -> RpcClient:
        return RpcClient(self.isolation.amqp_uri, default_timeout=10.0, name="agent-test")

    def agent_log(self) -> str:
        return self.processes[-1].log_path.read_text(errors="replace")


def start_stack(tmp_path_factory, with_rag: bool = True, **env: str) -> AgentStack:
    isolation = Isolation(data_dir=tmp_path_factory.mktemp("agent-stack")).create()
    mark_revocations_published(isolation.redis_prefix)  # no auth service in these stacks
    processes: list[ServiceProcess] = []
    try:
        if with_rag:
            processes.append(ServiceProcess(isolation, "services.rag.service", "rag"))
        processes.append(ServiceProcess(isolation, "services.agent.service", "agent", **env))
        for process in processes:
            process.wait_until_consuming()
    except Exception:
        stop_stack(AgentStack(isolation, processes))
        raise
    return AgentStack(isolation, processes)


def stop_stack(stack: AgentStack) -> None:
    for process in stack.processes:
        process.stop()
    stack.isolation.destroy()


@pytest.fixture(scope="session")
def openai_stack(tmp_path_factory, llm) -> AgentStack:
    """rag + an agent whose model is the scripted server, with the sample database as query_database."""
    data = tmp_path_factory.mktemp("agent-sql")
    sql_path = data / "shop.db"
    shutil.copy(SAMPLE_DB, sql_path)
    env = dict(AGENTHUB_LLM_BACKEND="openai", AGENTHUB_LLM_BASE_URL=llm.base_url, AGENTHUB_LLM_MODEL="scripted",
               AGENTHUB_LLM_TIMEOUT="10", AGENTHUB_AGENT_MAX_STEPS="4", AGENTHUB_AGENT_RUN_TIMEOUT="20",
               AGENTHUB_AGENT_TOOL_TIMEOUT="5", AGENTHUB_SQL_URL=f"sqlite:///{sql_path}", AGENTHUB_SQL_TIMEOUT="1",
               # the database tool is granted, not default: these tests run it as users
               AGENTHUB_ROLE_GRANTS='{"user": ["query:sql"]}')
    stack = start_stack(tmp_path_factory, **env)
    stack.sql_path, stack.agent_env, stack.current_env = sql_path, env, env
    yield stack
    stop_stack(stack)


@pytest.fixture
async def openai_rpc(openai_stack):
    client = openai_stack.rpc()
    await client.start(wait=10)
    yield client
    await client.close()


async def call(client: RpcClient, method: str, *args, token: str | None = None, **kwargs):
    context = {"auth_token": token} if token else {}
    return await client.call("agent", method, list(args), kwargs, context=context)


async def rag_call(client: RpcClient, method: str, token: str, **kwargs):
    return await client.call("rag", method, [], kwargs, context={"auth_token": token}, timeout=30)


async def ingest(client: RpcClient, token: str, title: str, text: str) -> str:
    """Ingests a text document as its owner and waits until it is searchable; returns its id."""
    job = await rag_call(client, "ingest_text", token, title=title, text=text)
    for _ in range(300):
        job = await rag_call(client, "job", token, job_id=job["id"])
        if job["status"] == "DONE":
            return job["document_id"]
        assert job["status"] in ("QUEUED", "RUNNING"), job
        await asyncio.sleep(0.1)
    raise AssertionError(f"ingestion did not finish: {job}")


async def wait_events(client: RpcClient, run_id: str, token: str, timeout: float = 20.0) -> list[RunEvent]:
    """Polls the replay RPC until the run's terminal event (the gateway follows the stream instead)."""
    events: list[RunEvent] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        after = events[-1].seq if events else 0
        batch = [RunEvent.model_validate(e) for e in await call(client, "run_events", run_id, after, token=token)]
        events.extend(batch)
        if events and events[-1].type in TERMINAL_EVENTS:
            return events
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end: {[e.type.value for e in events]}")


# -- the gateway on a real TCP port, for real WebSockets ---------------------------------

EVENT_FIELDS = "runId seq type delta tool data"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def gateway_url(openai_stack):
    port = _free_port()
    app = create_app(gateway_settings(openai_stack.isolation))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                           ws="websockets"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


async def gql(url: str, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(f"http://{url}/graphql", json={"query": query, "variables": variables or {}},
                                     headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


class Subscription:
    """One graphql-transport-ws connection running one subscription."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url, self.token = url, token

    async def __aenter__(self) -> Subscription:
        self.ws = await websockets.connect(f"ws://{self.url}/graphql", subprotocols=["graphql-transport-ws"])
        payload = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        await self.ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        return self

    async def subscribe(self, query: str, variables: dict | None = None) -> None:
        await self.ws.send(json.dumps({"id": "1", "type": "subscribe",
                                       "payload": {"query": query, "variables": variables or {}}}))

    async def next(self, timeout: float = 20) -> dict:
        """The next message's payload: the event, or raises on errors; None when complete."""
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if message["type"] == "next":
                return message["payload"]
            if message["type"] == "error":
                return {"errors": message["payload"]}
            if message["type"] == "complete":
                return None

    async def events(self, field: str, limit: int | None = None) -> list[dict]:
        events = []
        while limit is None or len(events) < limit:
            payload = await self.next()
            if payload is None:
                break
            assert "errors" not in payload, payload
            events.append(payload["data"][field])
            if events[-1]["type"] in ("RUN_FINISHED", "RUN_FAILED"):
                break
        return events

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()
