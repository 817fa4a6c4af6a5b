"""GraphQL types of the agent domain, derived from the RPC models in schema/agent.py
(one declaration per model; only GraphQL-specific types — ID, JSON — are named here)."""

# No ``from __future__ import annotations``: strawberry.Private must be seen as a type, not a string.
from datetime import datetime

import strawberry
from strawberry.experimental.pydantic import input as pydantic_input
from strawberry.experimental.pydantic import type as pydantic_type
from strawberry.scalars import JSON

from gateway.graphql.pagination import PageInfo
from schema import agent

AgentRunMode = strawberry.enum(
    agent.RunMode,
    name="AgentRunMode",
    description="AGENT: a model calls tools; FIXED_PLAN: the local model answers "
    "from a search; RETRIEVAL_ONLY: no model, extractive answers.",
)
AgentRunStatus = strawberry.enum(agent.RunStatus, name="AgentRunStatus")
AgentEventType = strawberry.enum(agent.EventType, name="AgentEventType")
MessageRole = strawberry.enum(agent.MessageRole, name="ConversationMessageRole")


@pydantic_input(
    model=agent.AgentRunInput,
    all_fields=True,
    description="A message to the agent; without conversationId a new conversation starts.",
)
class AgentRunInput:
    conversation_id: strawberry.ID | None = None


@pydantic_type(
    model=agent.Citation,
    all_fields=True,
    description="A passage the run retrieved; [n] in the answer refers to the n-th citation.",
)
class AgentCitation:
    document_id: strawberry.ID


@pydantic_type(model=agent.Step, all_fields=True, description="One tool call of a run.")
class AgentStep:
    arguments: JSON


@pydantic_type(model=agent.Usage, all_fields=True)
class AgentUsage:
    pass


@pydantic_type(
    model=agent.RunRecord,
    all_fields=True,
    description="An agent run: RUNNING until it FINISHED, FAILED or was CANCELLED.",
)
class AgentRun:
    id: strawberry.ID
    conversation_id: strawberry.ID
    deadline_at: strawberry.Private[datetime | None]


@pydantic_type(
    model=agent.RunEvent,
    all_fields=True,
    description="One event of a run, in order of seq (1, 2, 3, ...). TOKEN carries delta; "
    "TOOL_CALL and TOOL_RESULT carry tool; data holds the rest.",
)
class AgentRunEvent:
    run_id: strawberry.ID
    data: JSON


@pydantic_type(model=agent.ConversationMessage, all_fields=True)
class ConversationMessage:
    run_id: strawberry.ID | None


@pydantic_type(
    model=agent.Conversation, all_fields=True, description="A conversation with the agent; only its owner sees it."
)
class Conversation:
    id: strawberry.ID


@strawberry.type
class ConversationConnection:
    nodes: list[Conversation]
    page_info: PageInfo
