"""Mutations of the agent domain: each one operation of ``schema/agent.py``.

``runAgent`` does not hold one long RPC open: it starts the run (an RPC that
returns at once), follows the run's event stream in Redis until it ends, then
reads the finished record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import strawberry
from strawberry.types import Info

from gateway.context import Context
from gateway.graphql.agent.stream import follow, run_streams
from gateway.graphql.agent.types import AgentRun, AgentRunInput
from gateway.graphql.permissions import operation_mutation
from schema import agent
from schema.agent import RunRecord, RunStarted, RunStatus
from schema.errors import Forbidden
from schema.permissions import Permission


async def start_run(context: Context, input: Mapping[str, Any]) -> RunStarted:
    """Starts a run once every permission it needs is held: it writes (``write:agent``, the operation's,
    checked by the field) and its answer and events are read back (``read:agent``, checked again by the
    agent): refused here, the refusal is audited with the request and nothing is sent."""
    principal = context.principal
    if principal is not None and not principal.can(Permission.READ_AGENT):
        context.denied(Permission.READ_AGENT.value, "runAgent")
        raise Forbidden(
            f"This needs the '{Permission.READ_AGENT.value}' permission too.", {"requires": Permission.READ_AGENT.name}
        )
    return await context.invoke(agent.START_RUN, input)


def status_of(context: Context, run_id: str) -> Callable[[], Awaitable[RunStatus]]:
    async def status() -> RunStatus:
        return (await context.invoke(agent.GET_RUN, {"run_id": run_id})).status

    return status


async def run_to_end(context: Context, input: Mapping[str, Any]) -> RunRecord:
    """Start a run, follow its event stream until it ends, and return the finished ``RunRecord``.

    Shared by ``runAgent`` and the REST route ``POST /api/agent/query``."""
    started = await start_run(context, input)
    async for _ in follow(
        run_streams(context.request),
        context.settings.redis_prefix,
        started.run_id,
        0,
        status_of(context, started.run_id),
    ):
        pass
    return await context.invoke(agent.GET_RUN, {"run_id": started.run_id})


@strawberry.type
class AgentMutation:
    @operation_mutation(
        agent.START_RUN,
        description="Ask the agent and wait for its answer. To see tokens as "
        "they come, use the agentRun subscription instead.",
    )
    async def run_agent(self, info: Info[Context, None], input: AgentRunInput) -> AgentRun:
        return AgentRun.from_pydantic(await run_to_end(info.context, strawberry.asdict(input)))

    @operation_mutation(agent.CANCEL_RUN)
    async def cancel_agent_run(self, info: Info[Context, None], run_id: strawberry.ID) -> AgentRun:
        return AgentRun.from_pydantic(await info.context.invoke(agent.CANCEL_RUN, {"run_id": run_id}))

    @operation_mutation(agent.DELETE_CONVERSATION)
    async def delete_conversation(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        return await info.context.invoke(agent.DELETE_CONVERSATION, {"conversation_id": id})

    @operation_mutation(agent.SET_SYSTEM_PROMPT)
    async def set_system_prompt(self, info: Info[Context, None], prompt: str | None) -> str:
        return await info.context.invoke(agent.SET_SYSTEM_PROMPT, {"prompt": prompt})
