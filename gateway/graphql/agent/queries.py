"""Queries of the agent domain: each one operation of ``schema/agent.py``."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from gateway.context import Context
from gateway.graphql.agent.types import AgentRun, Conversation, ConversationConnection
from gateway.graphql.pagination import PageInfo
from gateway.graphql.permissions import operation_field
from schema import agent


@strawberry.type
class AgentQuery:
    @operation_field(agent.LIST_CONVERSATIONS)
    async def conversations(
        self,
        info: Info[Context, None],
        first: int = agent.ConversationsInput.model_fields["first"].default,
        after: str | None = None,
    ) -> ConversationConnection:
        page = await info.context.invoke(agent.LIST_CONVERSATIONS, {"first": first, "after": after})
        return ConversationConnection(
            nodes=[Conversation.from_pydantic(c) for c in page.items], page_info=PageInfo.from_page(page)
        )

    @operation_field(agent.GET_CONVERSATION)
    async def conversation(self, info: Info[Context, None], id: strawberry.ID) -> Conversation:
        return Conversation.from_pydantic(await info.context.invoke(agent.GET_CONVERSATION, {"conversation_id": id}))

    @operation_field(agent.GET_RUN)
    async def agent_run(self, info: Info[Context, None], id: strawberry.ID) -> AgentRun:
        return AgentRun.from_pydantic(await info.context.invoke(agent.GET_RUN, {"run_id": id}))
