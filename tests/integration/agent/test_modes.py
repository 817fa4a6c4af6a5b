"""Without an OpenAI-compatible server: no model at all (``none``), and the local
Gemma model (``local``), each through the real rag service; the local one end to
end through the gateway's WebSocket."""

from __future__ import annotations

import socket
import uuid

import pytest

from schema.agent import EventType
from services.agent.llm import local_installed
from services.agent.runner import NO_MODEL_NOTICE
from tests.support.fixtures.agent import EVENT_FIELDS, Subscription, call, ingest, mint, wait_events
from tests.support.scripted_llm import Text


def short_runs(stack) -> dict[str, str]:
    """The openai setup with a 2 s run time limit."""
    return {**stack.agent_env, "AGENTHUB_AGENT_RUN_TIMEOUT": "2"}


@pytest.fixture(scope="module")
async def reader(openai_stack):
    """A user with one document; the agent is restored to its openai setup afterwards."""
    client = openai_stack.rpc()
    await client.start(wait=10)
    user = f"modes-{uuid.uuid4().hex[:6]}"
    document = await ingest(
        client,
        mint(user),
        "Lighthouse handbook",
        "The Fastnet lighthouse stands 54 metres tall. It was completed in 1904 off the "
        "south coast of Ireland. Its light can be seen for 27 nautical miles.",
    )
    yield client, user, document
    await client.close()
    openai_stack.use_agent(**openai_stack.agent_env)


async def test_stopping_the_agent_fails_its_runs_instead_of_leaving_them_running(openai_stack, reader, llm):
    client, user, _ = reader
    marker = f"stop-{uuid.uuid4().hex[:8]}"
    llm.script(marker, [Text(["slow "] * 200, delay=0.05)])
    token = mint(user)
    started = await call(client, "start_run", f"Long story {marker}", token=token)
    openai_stack.restart_agent(**short_runs(openai_stack))  # SIGTERM mid-run
    events = await wait_events(client, started["run_id"], token)
    assert events[-1].type is EventType.RUN_FAILED
    assert events[-1].data["message"] == "The agent service stopped during the run. Please try again."
    assert (await call(client, "get_run", started["run_id"], token=token))["status"] == "FAILED"


async def test_a_run_past_its_time_limit_fails_with_timeout(openai_stack, reader, llm):
    client, user, _ = reader
    openai_stack.use_agent(**short_runs(openai_stack))
    marker = f"slow-{uuid.uuid4().hex[:8]}"
    llm.script(marker, [Text(["slow "] * 100, delay=0.1)])
    token = mint(user)
    started = await call(client, "start_run", f"Take your time {marker}", token=token)
    events = await wait_events(client, started["run_id"], token)
    assert events[-1].type is EventType.RUN_FAILED and events[-1].data["code"] == "TIMEOUT"
    # Streamed before the limit, stopped long before the script's 100 tokens; how many arrive in
    # 2 s depends on the machine's load (5 were seen on a loaded 2-core machine), so no lower bound.
    assert 0 < len([e for e in events if e.type is EventType.TOKEN]) < 40


async def test_none_mode_answers_extractively_with_citations(openai_stack, reader):
    client, user, document = reader
    openai_stack.use_agent(AGENTHUB_LLM_BACKEND="none")
    token = mint(user)
    started = await call(client, "start_run", "How tall is the Fastnet lighthouse?", token=token)
    assert started["mode"] == "RETRIEVAL_ONLY"
    events = await wait_events(client, started["run_id"], token)
    kinds = [e.type for e in events]
    assert kinds[:3] == [EventType.RUN_STARTED, EventType.TOOL_CALL, EventType.CITATION]
    assert kinds[-1] is EventType.RUN_FINISHED
    record = await call(client, "get_run", started["run_id"], token=token)
    assert record["mode"] == "RETRIEVAL_ONLY" and record["model"] == "none"
    assert record["answer"].startswith(NO_MODEL_NOTICE)
    assert "[1] (Lighthouse handbook) The Fastnet lighthouse stands 54 metres tall." in record["answer"]
    assert record["citations"][0]["document_id"] == document
    assert "".join(e.delta for e in events if e.type is EventType.TOKEN) == record["answer"]

    health = await call(client, "health")
    assert health["status"] == "UP"
    assert {"name": "model", "status": "UP", "detail": "none: none"} in health["dependencies"]


async def test_an_unreachable_model_fails_the_run_clearly(openai_stack, reader):
    client, user, _ = reader
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    openai_stack.use_agent(**{**openai_stack.agent_env, "AGENTHUB_LLM_BASE_URL": f"http://127.0.0.1:{closed_port}/v1"})
    token = mint(user)
    started = await call(client, "start_run", "Anyone there?", token=token)
    events = await wait_events(client, started["run_id"], token)
    assert [e.type for e in events] == [EventType.RUN_STARTED, EventType.RUN_FAILED]
    assert events[-1].data["message"] == "The model server is unreachable."
    assert (await call(client, "health"))["status"] == "UP"


@pytest.mark.skipif(not local_installed(), reason="the 'local' extra (llama-cpp-python, gemma3) is not installed")
async def test_local_model_streams_a_real_answer_through_the_subscription(openai_stack, reader, gateway_url):
    _client, user, document = reader
    openai_stack.use_agent(AGENTHUB_LLM_BACKEND="local", AGENTHUB_LLM_TEMPERATURE="0")
    async with Subscription(gateway_url, mint(user)) as sub:
        await sub.subscribe(
            f"subscription($input: AgentRunInput!) {{ agentRun(input: $input) {{ {EVENT_FIELDS} }} }}",
            {"input": {"message": "How tall is the Fastnet lighthouse?"}},
        )
        events = await sub.events("agentRun")
    kinds = [e["type"] for e in events]
    assert kinds[0] == "RUN_STARTED" and events[0]["data"]["mode"] == "FIXED_PLAN"
    assert kinds[1:3] == ["TOOL_CALL", "CITATION"] and kinds[-1] == "RUN_FINISHED", kinds
    tokens = [e["delta"] for e in events if e["type"] == "TOKEN"]
    assert len(tokens) > 1  # streamed piece by piece as the model produced them
    answer = events[-1]["data"]["answer"]
    assert answer and answer == "".join(tokens).strip()
    assert events[-1]["data"]["citations"][0]["document_id"] == document
    assert events[-1]["data"]["usage"]["completion_tokens"] == len(tokens)
