"""The agent through the gateway: HTTP for queries and mutations, a real WebSocket
(uvicorn on a TCP port) for subscriptions."""

from __future__ import annotations

import asyncio
import uuid

from tests.support.fixtures.agent import EVENT_FIELDS, Subscription, gql, mint
from tests.support.scripted_llm import Text, ToolCalls

RUN_FIELDS = (
    "id conversationId status mode model answer error citations { documentId title } "
    "steps { tool arguments resultSummary durationMs error } usage { promptTokens completionTokens }"
)


def marker() -> str:
    return f"g-{uuid.uuid4().hex[:8]}"


async def test_run_agent_mutation_returns_the_finished_run(gateway_url, llm):
    m = marker()
    llm.script(
        m,
        [
            ToolCalls([("query_database", {"sql": "SELECT name FROM products WHERE price > 300"})]),
            Text(["Two ", "products."]),
        ],
    )
    body = await gql(
        gateway_url,
        f"mutation($input: AgentRunInput!) {{ runAgent(input: $input) {{ {RUN_FIELDS} }} }}",
        {"input": {"message": f"Expensive products? {m}"}},
        token=mint("gw-alice"),
    )
    assert "errors" not in body, body
    run = body["data"]["runAgent"]
    assert run["status"] == "FINISHED" and run["mode"] == "AGENT"
    assert run["answer"] == "Two products."
    assert run["steps"][0]["tool"] == "query_database"
    assert run["steps"][0]["arguments"] == {"sql": "SELECT name FROM products WHERE price > 300"}
    assert run["steps"][0]["resultSummary"] == "2 row(s)"
    assert run["usage"]["completionTokens"] > 0


async def test_agent_run_subscription_streams_tokens_in_order(gateway_url, llm):
    m = marker()
    pieces = [f"w{i} " for i in range(30)]
    llm.script(m, [ToolCalls([("query_database", {"sql": "SELECT count(*) FROM orders"})]), Text(pieces, delay=0.01)])
    async with Subscription(gateway_url, mint("gw-bob")) as sub:
        await sub.subscribe(
            f"subscription($input: AgentRunInput!) {{ agentRun(input: $input) {{ {EVENT_FIELDS} }} }}",
            {"input": {"message": f"Count orders {m}"}},
        )
        events = await sub.events("agentRun")
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    kinds = [e["type"] for e in events]
    assert kinds[:3] == ["RUN_STARTED", "TOOL_CALL", "TOOL_RESULT"] and kinds[-1] == "RUN_FINISHED"
    assert [e["delta"] for e in events if e["type"] == "TOKEN"] == pieces
    assert events[1]["tool"] == "query_database" and events[2]["data"]["summary"] == "1 row(s)"
    assert events[-1]["data"]["answer"] == "".join(pieces).strip()


async def test_a_quiet_run_is_not_mistaken_for_redis_down(gateway_url, llm):
    """A model that thinks longer than the gateway's Redis socket timeout (2 s) before its first token:
    the relay's blocking read must end before that timeout, or the quiet stream reads as Redis down
    (the local model's runs ended RUN_FAILED "redis is down" after AGENTHUB_REDIS_SOCKET_TIMEOUT became 2 s)."""
    m = marker()
    llm.script(m, [Text(["Thought ", "long."], first_delay=2.6)])
    async with Subscription(gateway_url, mint("gw-quiet")) as sub:
        await sub.subscribe(
            f"subscription($input: AgentRunInput!) {{ agentRun(input: $input) {{ {EVENT_FIELDS} }} }}",
            {"input": {"message": f"Take your time {m}"}},
        )
        events = await sub.events("agentRun")
    assert [e["type"] for e in events][-1] == "RUN_FINISHED", events[-1]["data"]
    assert events[-1]["data"]["answer"] == "Thought long."


async def test_dropped_subscription_resumes_without_gaps_or_duplicates(gateway_url, llm):
    m = marker()
    pieces = [f"p{i} " for i in range(40)]
    llm.script(m, [Text(pieces, delay=0.03)])
    token = mint("gw-carol")
    async with Subscription(gateway_url, token) as sub:
        await sub.subscribe(
            f"subscription($input: AgentRunInput!) {{ agentRun(input: $input) {{ {EVENT_FIELDS} }} }}",
            {"input": {"message": f"Stream {m}"}},
        )
        first = await sub.events("agentRun", limit=8)
    # the connection dropped mid-run; the run goes on
    run_id, last_seq = first[0]["runId"], first[-1]["seq"]
    await asyncio.sleep(0.2)
    async with Subscription(gateway_url, token) as sub:
        await sub.subscribe(
            f"subscription($id: ID!, $after: Int!) {{ agentRunEvents(runId: $id, afterSeq: $after) "
            f"{{ {EVENT_FIELDS} }} }}",
            {"id": run_id, "after": last_seq},
        )
        rest = await sub.events("agentRunEvents")
    seqs = [e["seq"] for e in first + rest]
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    assert [e["delta"] for e in first + rest if e["type"] == "TOKEN"] == pieces
    assert rest[-1]["type"] == "RUN_FINISHED"

    # a full replay after the end gives the same events
    async with Subscription(gateway_url, token) as sub:
        await sub.subscribe(
            f"subscription($id: ID!) {{ agentRunEvents(runId: $id) {{ {EVENT_FIELDS} }} }}", {"id": run_id}
        )
        replay = await sub.events("agentRunEvents")
    assert replay == first + rest


async def test_nobody_reads_another_users_runs_or_conversations(gateway_url, llm):
    m = marker()
    llm.script(m, [Text(["mine"])])
    alice, mallory = mint("gw-owner"), mint("gw-mallory")
    body = await gql(
        gateway_url,
        "mutation($m: String!) { runAgent(input: {message: $m}) { id conversationId } }",
        {"m": f"secret plans {m}"},
        token=alice,
    )
    run = body["data"]["runAgent"]

    async with Subscription(gateway_url, mallory) as sub:
        await sub.subscribe(
            f"subscription($id: ID!) {{ agentRunEvents(runId: $id) {{ {EVENT_FIELDS} }} }}", {"id": run["id"]}
        )
        payload = await sub.next()
    errors = payload["errors"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"

    for query in [
        f'{{ conversation(id: "{run["conversationId"]}") {{ id messages {{ content }} }} }}',
        f'{{ agentRun(id: "{run["id"]}") {{ answer }} }}',
    ]:
        assert (await gql(gateway_url, query, token=mallory))["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    body = await gql(gateway_url, f'mutation {{ deleteConversation(id: "{run["conversationId"]}") }}', token=mallory)
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    body = await gql(gateway_url, "{ conversations { nodes { id } pageInfo { hasNextPage } } }", token=mallory)
    assert body["data"]["conversations"]["nodes"] == []

    body = await gql(
        gateway_url, "{ conversations(first: 5) { nodes { id title } pageInfo { hasNextPage } } }", token=alice
    )
    assert [c["id"] for c in body["data"]["conversations"]["nodes"]] == [run["conversationId"]]
    body = await gql(
        gateway_url,
        "query($id: ID!) { conversation(id: $id) { messages { role content } } }",
        {"id": run["conversationId"]},
        token=alice,
    )
    assert body["data"]["conversation"]["messages"] == [
        {"role": "USER", "content": f"secret plans {m}"},
        {"role": "ASSISTANT", "content": "mine"},
    ]


async def test_cancel_and_errors_through_the_gateway(gateway_url, llm):
    m = marker()
    llm.script(m, [Text([f"t{i} " for i in range(300)], delay=0.05)])
    token = mint("gw-dave")
    async with Subscription(gateway_url, token) as sub:
        await sub.subscribe(
            f"subscription($input: AgentRunInput!) {{ agentRun(input: $input) {{ {EVENT_FIELDS} }} }}",
            {"input": {"message": f"Long {m}"}},
        )
        started = (await sub.events("agentRun", limit=3))[0]
        body = await gql(
            gateway_url, f'mutation {{ cancelAgentRun(runId: "{started["runId"]}") {{ status }} }}', token=token
        )
        assert body["data"]["cancelAgentRun"]["status"] == "CANCELLED"
        rest = await sub.events("agentRun")
    assert rest[-1]["type"] == "RUN_FAILED" and rest[-1]["data"]["code"] == "CANCELLED"

    body = await gql(gateway_url, 'mutation { runAgent(input: {message: "hi"}) { id } }')
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    body = await gql(gateway_url, 'mutation { runAgent(input: {message: "  "}) { id } }', token=token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["fields"] == {"message": "must not be empty"}
    body = await gql(gateway_url, 'mutation { setSystemPrompt(prompt: "obey") }', token=token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    admin = mint("gw-admin", role="admin")
    body = await gql(gateway_url, "mutation { setSystemPrompt(prompt: null) }", token=admin)
    assert body["data"]["setSystemPrompt"].startswith("You are AgentHub's assistant")
    async with Subscription(gateway_url, token) as sub:
        await sub.subscribe('subscription { agentRunEvents(runId: "x", afterSeq: -1) { seq } }')
        payload = await sub.next()
    assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
