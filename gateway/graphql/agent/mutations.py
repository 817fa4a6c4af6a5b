"""Mutations of the agent domain.

``runAgent`` does not hold one long RPC open: it starts the run (an RPC that
returns at once), follows the run's event stream in Redis until it ends, then
reads the finished record.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from gateway.context import Context
from gateway.graphql.agent.stream import follow, redis_client
from gateway.graphql.agent.types import AgentRun, AgentRunInput
from gateway.graphql.permissions import requires
from schema import agent
from schema.agent import RunRecord, RunStarted, RunStatus
from schema.errors import Forbidden
from schema.permissions import Permission
from schema.validation import parse


async def start_run(context: Context, input: agent.AgentRunInput) -> RunStarted:
    """Starts a run once every permission it needs is held: it writes (``write:agent``, checked by the
    field) and its answer and events are read back (``read:agent``), so nothing runs to be refused after."""
    principal = context.principal
    if principal is not None and not principal.can(Permission.READ_AGENT):
        context.denied(Permission.READ_AGENT.value, "runAgent")
        raise Forbidden(f"This needs the '{Permission.READ_AGENT.value}' permission too.",
                        {"requires": Permission.READ_AGENT.name})
    return RunStarted.model_validate(await context.call("agent", "start_run", input.message, input.conversation_id))


def status_of(context: Context, run_id: str):
    async def status() -> RunStatus:
        return RunRecord.model_validate(await context.call("agent", "get_run", run_id)).status
    return status


async def run_to_end(context: Context, input: agent.AgentRunInput) -> RunRecord:
    """Start a run, follow its event stream until it ends, and return the finished ``RunRecord`` payload.

    Shared by ``runAgent`` and the REST route ``POST /api/agent/query``."""
    started = await start_run(context, input)
    async for _ in follow(redis_client(context.request), context.settings.redis_prefix, started.run_id, 0,
                          status_of(context, started.run_id)):
        pass
    return RunRecord.model_validate(await context.call("agent", "get_run", started.run_id))


@strawberry.type
class AgentMutation:
    @strawberry.mutation(extensions=[requires(Permission.WRITE_AGENT)],
                         description="Ask the agent and wait for its answer. To see tokens as they come, "
                                     "use the agentRun subscription instead.")
    async def run_agent(self, info: Info[Context, None], input: AgentRunInput) -> AgentRun:
        data = parse(agent.AgentRunInput, strawberry.asdict(input))
        return AgentRun.from_pydantic(await run_to_end(info.context, data))

    @strawberry.mutation(extensions=[requires(Permission.WRITE_AGENT)], description="Stop one of my runs.")
    async def cancel_agent_run(self, info: Info[Context, None], run_id: strawberry.ID) -> AgentRun:
        record = await info.context.call("agent", "cancel_run", str(run_id))
        return AgentRun.from_pydantic(RunRecord.model_validate(record))

    @strawberry.mutation(extensions=[requires(Permission.WRITE_AGENT)],
                         description="Delete one of my conversations and its messages.")
    async def delete_conversation(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        return await info.context.call("agent", "delete_conversation", str(id))

    @strawberry.mutation(extensions=[requires(Permission.WRITE_SYSTEM)],
                         description="Administrators only: replace the agent's system prompt (null: the default).")
    async def set_system_prompt(self, info: Info[Context, None], prompt: str | None) -> str:
        return await info.context.call("agent", "set_system_prompt", prompt)
