"""Subscriptions of the agent domain: a run's events as they happen (the operations of
``schema/agent.py`` they stand for give their access)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from gateway.context import Context
from gateway.graphql.agent.mutations import start_run, status_of
from gateway.graphql.agent.stream import follow, run_streams
from gateway.graphql.agent.types import AgentRunEvent, AgentRunInput
from gateway.graphql.live import live
from gateway.graphql.permissions import operation_field
from schema import agent


@strawberry.type
class AgentSubscription:
    @operation_field(
        agent.START_RUN,
        is_subscription=True,
        description="Start a run and stream its events until RUN_FINISHED or RUN_FAILED.",
    )
    async def agent_run(self, info: Info[Context, None], input: AgentRunInput) -> AsyncGenerator[AgentRunEvent, None]:
        context = info.context
        started = await start_run(context, strawberry.asdict(input))
        async for event in live(
            info,
            follow(
                run_streams(context.request),
                context.settings.redis_prefix,
                started.run_id,
                0,
                status_of(context, started.run_id),
            ),
        ):
            yield AgentRunEvent.from_pydantic(event)

    @operation_field(
        agent.RUN_EVENTS,
        is_subscription=True,
        description="Events of one of my runs after afterSeq (replay), then live ones: "
        "resume a dropped agentRun without gaps or duplicates.",
    )
    async def agent_run_events(
        self, info: Info[Context, None], run_id: strawberry.ID, after_seq: int = 0
    ) -> AsyncGenerator[AgentRunEvent, None]:
        data = agent.RUN_EVENTS.parse_input({"run_id": run_id, "after_seq": after_seq})
        context = info.context
        status = status_of(context, data.run_id)
        await status()  # NOT_FOUND unless the run is the caller's
        async for event in live(
            info,
            follow(run_streams(context.request), context.settings.redis_prefix, data.run_id, data.after_seq, status),
        ):
            yield AgentRunEvent.from_pydantic(event)
