"""Agent runs over real RPC, with the model scripted at its HTTP boundary."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid

import pytest

from schema.agent import EventType, RunEvent
from schema.errors import BadUserInput, Conflict, Forbidden, NotFound, RateLimited, Unauthenticated
from tests.support.fixtures.agent import call, mint, wait_events
from tests.support.scripted_llm import Fail, Garbage, Text, ToolCalls


def marker() -> str:
    return f"m-{uuid.uuid4().hex[:8]}"


def types(events: list[RunEvent]) -> list[str]:
    return [e.type.value for e in events]


async def test_tool_call_then_streamed_answer(openai_rpc, llm):
    m = marker()
    llm.script(
        m,
        [
            ToolCalls([("query_database", {"sql": "SELECT count(*) AS n FROM customers"})]),
            Text(["There ", "are ", "6 ", "customers."]),
        ],
    )
    token = mint("alice")
    started = await call(openai_rpc, "start_run", f"How many customers? {m}", token=token)
    assert started["mode"] == "AGENT"
    events = await wait_events(openai_rpc, started["run_id"], token)

    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert types(events) == [
        "RUN_STARTED",
        "TOOL_CALL",
        "TOOL_RESULT",
        "TOKEN",
        "TOKEN",
        "TOKEN",
        "TOKEN",
        "RUN_FINISHED",
    ]
    assert [e.delta for e in events if e.type is EventType.TOKEN] == ["There ", "are ", "6 ", "customers."]
    assert events[1].tool == "query_database"
    assert events[2].data["summary"] == "1 row(s)" and events[2].data["error"] is False
    # the model received the rows as the tool's result
    assert '"rows": [[6]]' in llm.requests_for(m)[-1].tool_results()[0]

    record = await call(openai_rpc, "get_run", started["run_id"], token=token)
    assert record["status"] == "FINISHED"
    assert record["answer"] == "There are 6 customers."
    assert [s["tool"] for s in record["steps"]] == ["query_database"]
    assert record["steps"][0]["arguments"] == {"sql": "SELECT count(*) AS n FROM customers"}
    assert record["usage"]["completion_tokens"] > 0 and record["usage"]["prompt_tokens"] > 0
    assert events[-1].data["answer"] == record["answer"]


async def test_tool_errors_go_back_to_the_model(openai_rpc, llm):
    m = marker()
    llm.script(
        m,
        [
            ToolCalls([("query_database", {"sql": "DROP TABLE customers"})]),
            ToolCalls([("query_database", {"sql": "SELECT * FROM no_such_table"})]),
            ToolCalls(
                [
                    (
                        "query_database",
                        {
                            "sql": "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
                            "SELECT count(*) FROM r"
                        },
                    )
                ]
            ),
            Text(["I could not do that."]),
        ],
    )
    token = mint("alice")
    started = await call(openai_rpc, "start_run", f"Drop it {m}", token=token)
    events = await wait_events(openai_rpc, started["run_id"], token)
    assert types(events)[-1] == "RUN_FINISHED"
    results = [e for e in events if e.type is EventType.TOOL_RESULT]
    assert [r.data["error"] for r in results] == [True, True, True]
    assert "Only SELECT" in llm.requests_for(m)[1].tool_results()[0]
    assert "no_such_table is not allowed" in llm.requests_for(m)[2].tool_results()[1]
    assert "timed out after 1 s" in llm.requests_for(m)[3].tool_results()[2]


async def test_step_limit_ends_the_run_with_run_failed(openai_rpc, llm):
    m = marker()
    llm.script(m, [ToolCalls([("query_database", {"sql": "SELECT 1"})])])  # forever
    token = mint("alice")
    started = await call(openai_rpc, "start_run", f"Loop {m}", token=token)
    events = await wait_events(openai_rpc, started["run_id"], token)
    assert events[-1].type is EventType.RUN_FAILED
    assert "limit of 4 steps" in events[-1].data["message"]
    assert len([e for e in events if e.type is EventType.TOOL_CALL]) == 4


@pytest.mark.parametrize(
    "turn, message",
    [
        (Fail(500, "boom"), "The model server failed"),
        (Garbage(), "could not be used"),
    ],
)
async def test_model_failures_end_the_run_clearly(openai_rpc, llm, turn, message):
    m = marker()
    llm.script(m, [turn])
    token = mint("alice")
    started = await call(openai_rpc, "start_run", f"Fail {m}", token=token)
    events = await wait_events(openai_rpc, started["run_id"], token)
    assert events[-1].type is EventType.RUN_FAILED, events[-1]
    assert message in events[-1].data["message"]
    assert (await call(openai_rpc, "health"))["status"] == "UP"


async def test_cancel_stops_a_streaming_run(openai_rpc, llm):
    m = marker()
    llm.script(m, [Text([f"t{i} " for i in range(200)], delay=0.05)])
    token = mint("alice")
    started = await call(openai_rpc, "start_run", f"Long {m}", token=token)
    await asyncio.sleep(0.6)
    record = await call(openai_rpc, "cancel_run", started["run_id"], token=token)
    assert record["status"] == "CANCELLED"
    events = await wait_events(openai_rpc, started["run_id"], token)
    assert events[-1].type is EventType.RUN_FAILED and events[-1].data["code"] == "CANCELLED"
    tokens = len([e for e in events if e.type is EventType.TOKEN])
    assert 0 < tokens < 200
    await asyncio.sleep(0.3)
    assert len(await call(openai_rpc, "run_events", started["run_id"], 0, token=token)) == len(events)
    with pytest.raises(Conflict):
        await call(openai_rpc, "cancel_run", started["run_id"], token=token)


async def test_cancels_at_any_moment_leave_the_service_running(openai_rpc, llm):
    """A cancel raised into a run while the model's stream was ready to read once stopped the
    whole service (services/common/green.py says why); 20 cancels, each at another moment."""
    token = mint("alice-cancels")
    for i in range(20):
        m = marker()
        llm.script(m, [Text([f"t{j} " for j in range(100)], delay=0.01)])
        started = await call(openai_rpc, "start_run", f"Long {m}", token=token)
        await asyncio.sleep(0.02 * i)
        record = await call(openai_rpc, "cancel_run", started["run_id"], token=token)
        assert record["status"] == "CANCELLED"
        events = await wait_events(openai_rpc, started["run_id"], token)
        assert events[-1].data["code"] == "CANCELLED"


async def test_conversation_memory_and_ownership(openai_rpc, llm):
    m = marker()
    llm.script(m, [Text(["First answer."])])
    alice, bob = mint("alice-conv"), mint("bob-conv")
    first = await call(openai_rpc, "start_run", f"Hello {m}", token=alice)
    await wait_events(openai_rpc, first["run_id"], alice)
    m2 = marker()
    llm.script(m2, [Text(["Second answer."])])
    second = await call(openai_rpc, "start_run", f"Again {m2}", first["conversation_id"], token=alice)
    assert second["conversation_id"] == first["conversation_id"]
    await wait_events(openai_rpc, second["run_id"], alice)

    # the model saw the history
    sent = llm.requests_for(m2)[0].messages
    assert [x["role"] for x in sent] == ["system", "user", "assistant", "user"]
    assert sent[2]["content"] == "First answer."

    conversation = await call(openai_rpc, "get_conversation", first["conversation_id"], token=alice)
    assert [x["role"] for x in conversation["messages"]] == ["USER", "ASSISTANT", "USER", "ASSISTANT"]
    page = await call(openai_rpc, "list_conversations", 10, token=alice)
    assert [c["id"] for c in page["items"]] == [first["conversation_id"]]

    # bob sees none of it, and cannot continue, read, cancel or delete it
    assert (await call(openai_rpc, "list_conversations", token=bob))["items"] == []
    for method, args in [
        ("get_conversation", [first["conversation_id"]]),
        ("get_run", [first["run_id"]]),
        ("run_events", [first["run_id"], 0]),
        ("cancel_run", [first["run_id"]]),
        ("delete_conversation", [first["conversation_id"]]),
        ("start_run", ["hijack", first["conversation_id"]]),
    ]:
        with pytest.raises(NotFound):
            await call(openai_rpc, method, *args, token=bob)

    assert await call(openai_rpc, "delete_conversation", first["conversation_id"], token=alice) is True
    with pytest.raises(NotFound):
        await call(openai_rpc, "get_conversation", first["conversation_id"], token=alice)


async def test_history_fits_the_token_budget(openai_rpc, llm):
    token = mint("carol-budget")
    conversation_id = None
    for i in range(6):
        m = marker()
        llm.script(m, [Text(["x" * 2000])])  # ~500 tokens an answer
        started = await call(openai_rpc, "start_run", f"q{i} {m}", conversation_id, token=token)
        conversation_id = started["conversation_id"]
        await wait_events(openai_rpc, started["run_id"], token)
    sent = llm.requests_for(m)[0].messages
    history = sent[1:-1]
    assert 0 < len(history) < 10  # older messages were dropped ...
    assert sum(len(x["content"]) for x in history) // 4 <= 2000  # ... to fit the default budget
    assert history[0]["role"] == "user"


async def test_bad_input_and_identity(openai_rpc):
    token = mint("dave")
    with pytest.raises(BadUserInput) as raised:
        await call(openai_rpc, "start_run", "   ", token=token)
    assert raised.value.details["fields"] == {"message": "must not be empty"}
    with pytest.raises(BadUserInput):
        await call(openai_rpc, "start_run", "x" * 9000, token=token)
    with pytest.raises(BadUserInput) as raised:
        await call(openai_rpc, "list_conversations", 0, token=token)
    assert "first" in raised.value.details["fields"]
    with pytest.raises(Unauthenticated):
        await call(openai_rpc, "start_run", "hi")
    with pytest.raises(Forbidden):
        await call(openai_rpc, "start_run", "hi", token=mint("guest", role="guest"))
    with pytest.raises(NotFound):
        await call(openai_rpc, "get_run", "../../etc", token=token)


async def test_only_admins_change_the_system_prompt(openai_rpc, llm):
    with pytest.raises(Forbidden):
        await call(openai_rpc, "set_system_prompt", "Obey me.", token=mint("eve"))
    admin = mint("root", role="admin")
    try:
        assert (
            await call(openai_rpc, "set_system_prompt", "You are terse. {{ not_a_template }}", token=admin)
            == "You are terse. {{ not_a_template }}"
        )
        m = marker()
        llm.script(m, [Text(["ok"])])
        token = mint("frank")
        started = await call(openai_rpc, "start_run", f"hi {m}", token=token)
        await wait_events(openai_rpc, started["run_id"], token)
        assert llm.requests_for(m)[0].messages[0] == {
            "role": "system",
            "content": "You are terse. {{ not_a_template }}",
        }
    finally:
        await call(openai_rpc, "set_system_prompt", None, token=admin)


def test_the_database_file_is_untouched_by_runs(openai_stack):
    connection = sqlite3.connect(openai_stack.sql_path)
    assert connection.execute("SELECT count(*) FROM customers").fetchone() == (6,)
    connection.close()


async def test_concurrent_runs_each_get_their_own_stream(openai_rpc, llm):
    markers = [marker() for _ in range(8)]
    for i, m in enumerate(markers):
        llm.script(
            m,
            [
                ToolCalls([("query_database", {"sql": f"SELECT {i} AS n"})]),
                Text([f"run{i}-{k} " for k in range(10)], delay=0.01),
            ],
        )
    tokens = [mint(f"parallel-{i}") for i in range(len(markers))]
    started = await asyncio.gather(
        *(call(openai_rpc, "start_run", f"go {m}", token=t) for m, t in zip(markers, tokens))
    )
    results = await asyncio.gather(*(wait_events(openai_rpc, s["run_id"], t) for s, t in zip(started, tokens)))
    for i, events in enumerate(results):
        assert [e.delta for e in events if e.type is EventType.TOKEN] == [f"run{i}-{k} " for k in range(10)]
        assert f'"rows": [[{i}]]' in llm.requests_for(markers[i])[-1].tool_results()[0]


async def test_a_user_may_run_only_a_few_runs_at_once(openai_rpc, llm):
    m = marker()
    llm.script(m, [Text(["slow "] * 100, delay=0.05)])
    token = mint("greedy")
    started = [await call(openai_rpc, "start_run", f"one {m}", token=token) for _ in range(3)]
    with pytest.raises(RateLimited):
        await call(openai_rpc, "start_run", f"four {m}", token=token)
    assert (await call(openai_rpc, "list_conversations", token=token))["items"].__len__() == 3  # no empty 4th
    await call(openai_rpc, "cancel_run", started[0]["run_id"], token=token)
    fourth = await call(openai_rpc, "start_run", f"four {m}", token=token)  # a slot is free again
    for run in [*started[1:], fourth]:
        await call(openai_rpc, "cancel_run", run["run_id"], token=token)


async def test_a_run_whose_agent_died_is_marked_failed(openai_rpc, openai_stack):
    """A RUNNING record past its deadline, as a killed agent instance leaves it, ends as RUN_FAILED."""
    import redis as redis_sync

    from schema.agent import RunMode, RunRecord, RunStatus
    from services.agent.config import AgentSettings
    from services.agent.store import RunEvents, RunStore
    from services.common.db import make_engine, session_factory
    from tests.support.stack import REDIS_URL

    client = redis_sync.Redis.from_url(REDIS_URL)
    prefix = openai_stack.isolation.redis_prefix
    run_id = uuid.uuid4().hex
    engine = make_engine(AgentSettings(data_dir=openai_stack.isolation.data_dir).agent_database())
    RunStore(session_factory(engine), client, prefix, 3600).create(
        RunRecord(
            id=run_id,
            conversation_id="c",
            status=RunStatus.RUNNING,
            mode=RunMode.AGENT,
            created_at=time.time() - 300,
            deadline_at=time.time() - 1,
        ),
        owner="orphan-owner",
    )
    engine.dispose()
    events = RunEvents(client, prefix, run_id, 3600)
    events.emit(EventType.RUN_STARTED)
    events.emit(EventType.TOKEN, delta="half an ans")
    client.close()
    token = mint("orphan-owner")
    record = await call(openai_rpc, "get_run", run_id, token=token)
    assert record["status"] == "FAILED" and "went away" in record["error"]
    replay = [RunEvent.model_validate(e) for e in await call(openai_rpc, "run_events", run_id, 0, token=token)]
    assert [(e.seq, e.type.value) for e in replay] == [(1, "RUN_STARTED"), (2, "TOKEN"), (3, "RUN_FAILED")]
