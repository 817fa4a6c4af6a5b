"""Subscriptions of the agent domain: a run's events as they happen."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from gateway.context import Context
from gateway.graphql.agent.mutations import start_run, status_of
from gateway.graphql.agent.stream import follow, redis_client
from gateway.graphql.agent.types import AgentRunEvent, AgentRunInput
from gateway.graphql.live import live
from gateway.graphql.permissions import requires
from schema.errors import BadUserInput
from schema import agent
from schema.permissions import Permission
from schema.validation import parse


@strawberry.type
class AgentSubscription:
    @strawberry.subscription(extensions=[requires(Permission.WRITE_AGENT)],
                             description="Start a run and stream its events until RUN_FINISHED or RUN_FAILED.")
    async def agent_run(self, info: Info[Context, None], input: AgentRunInput
                        ) -> AsyncGenerator[AgentRunEvent, None]:
        context = info.context
        started = await start_run(context, parse(agent.AgentRunInput, strawberry.asdict(input)))
        async for event in live(info, follow(redis_client(context.request), context.settings.redis_prefix,
                                             started.run_id, 0, status_of(context, started.run_id))):
            yield AgentRunEvent.from_pydantic(event)

    @strawberry.subscription(extensions=[requires(Permission.READ_AGENT)],
                             description="Events of one of my runs after afterSeq (replay), then live ones: "
                                         "resume a dropped agentRun without gaps or duplicates.")
    async def agent_run_events(self, info: Info[Context, None], run_id: strawberry.ID, after_seq: int = 0
                               ) -> AsyncGenerator[AgentRunEvent, None]:
        if after_seq < 0:
            raise BadUserInput.for_fields({"afterSeq": "must be 0 or more"})
        context = info.context
        status = status_of(context, str(run_id))
        await status()  # NOT_FOUND unless the run is the caller's
        async for event in live(info, follow(redis_client(context.request), context.settings.redis_prefix,
                                             str(run_id), after_seq, status)):
            yield AgentRunEvent.from_pydantic(event)
