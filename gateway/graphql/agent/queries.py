"""Queries of the agent domain: thin calls to the agent service."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from gateway.context import Context
from gateway.graphql.agent.types import AgentRun, Conversation, ConversationConnection
from gateway.graphql.pagination import PageInfo
from gateway.graphql.permissions import requires
from schema import agent
from schema.permissions import Permission


@strawberry.type
class AgentQuery:
    @strawberry.field(extensions=[requires(Permission.READ_AGENT)], description="My conversations, newest first.")
    async def conversations(self, info: Info[Context, None], first: int = 20,
                            after: str | None = None) -> ConversationConnection:
        page = await info.context.call("agent", "list_conversations", first, after)
        model = agent.ConversationPage.model_validate(page)
        return ConversationConnection(nodes=[Conversation.from_pydantic(c) for c in model.items],
                                      page_info=PageInfo.from_page(page))

    @strawberry.field(extensions=[requires(Permission.READ_AGENT)], description="One of my conversations.")
    async def conversation(self, info: Info[Context, None], id: strawberry.ID) -> Conversation:
        return Conversation.from_pydantic(
            agent.Conversation.model_validate(await info.context.call("agent", "get_conversation", str(id))))

    @strawberry.field(extensions=[requires(Permission.READ_AGENT)], description="One of my runs.")
    async def agent_run(self, info: Info[Context, None], id: strawberry.ID) -> AgentRun:
        record = await info.context.call("agent", "get_run", str(id))
        return AgentRun.from_pydantic(agent.RunRecord.model_validate(record))
