"""GraphQL types of the agent domain, built from the RPC models in schema/agent.py."""

from __future__ import annotations

from datetime import datetime, timezone

import strawberry
from strawberry.scalars import JSON

from gateway.graphql.pagination import PageInfo
from schema import agent

AgentRunMode = strawberry.enum(agent.RunMode, name="AgentRunMode",
                               description="AGENT: a model calls tools; FIXED_PLAN: the local model answers "
                                           "from a search; RETRIEVAL_ONLY: no model, extractive answers.")
AgentRunStatus = strawberry.enum(agent.RunStatus, name="AgentRunStatus")
AgentEventType = strawberry.enum(agent.EventType, name="AgentEventType")
MessageRole = strawberry.enum(agent.MessageRole, name="ConversationMessageRole")


def _time(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, tz=timezone.utc) if epoch is not None else None


@strawberry.input(description="A message to the agent; without conversationId a new conversation starts.")
class AgentRunInput:
    message: str
    conversation_id: strawberry.ID | None = None


@strawberry.type(description="A passage the run retrieved; [n] in the answer refers to the n-th citation.")
class AgentCitation:
    document_id: strawberry.ID
    chunk_id: str | None
    title: str
    score: float | None
    snippet: str


@strawberry.type(description="One tool call of a run.")
class AgentStep:
    tool: str
    arguments: JSON
    result_summary: str
    duration_ms: float
    error: bool


@strawberry.type
class AgentUsage:
    prompt_tokens: int
    completion_tokens: int


@strawberry.type(description="An agent run: RUNNING until it FINISHED, FAILED or was CANCELLED.")
class AgentRun:
    id: strawberry.ID
    conversation_id: strawberry.ID
    status: AgentRunStatus
    mode: AgentRunMode
    model: str
    answer: str
    citations: list[AgentCitation]
    steps: list[AgentStep]
    usage: AgentUsage
    error: str | None
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_payload(cls, payload: dict) -> "AgentRun":
        record = agent.RunRecord.model_validate(payload)
        return cls(
            id=strawberry.ID(record.id), conversation_id=strawberry.ID(record.conversation_id),
            status=record.status, mode=record.mode, model=record.model, answer=record.answer,
            citations=[AgentCitation(document_id=strawberry.ID(c.document_id), chunk_id=c.chunk_id, title=c.title,
                                     score=c.score, snippet=c.snippet) for c in record.citations],
            steps=[AgentStep(tool=s.tool, arguments=s.arguments, result_summary=s.result_summary,
                             duration_ms=s.duration_ms, error=s.error) for s in record.steps],
            usage=AgentUsage(prompt_tokens=record.usage.prompt_tokens,
                             completion_tokens=record.usage.completion_tokens),
            error=record.error, created_at=_time(record.created_at), finished_at=_time(record.finished_at))


@strawberry.type(description="One event of a run, in order of seq (1, 2, 3, ...). TOKEN carries delta; "
                             "TOOL_CALL and TOOL_RESULT carry tool; data holds the rest.")
class AgentRunEvent:
    run_id: strawberry.ID
    seq: int
    type: AgentEventType
    delta: str | None
    tool: str | None
    data: JSON

    @classmethod
    def from_event(cls, event: agent.RunEvent) -> "AgentRunEvent":
        return cls(run_id=strawberry.ID(event.run_id), seq=event.seq, type=event.type, delta=event.delta,
                   tool=event.tool, data=event.data)


@strawberry.type
class ConversationMessage:
    role: MessageRole
    content: str
    run_id: strawberry.ID | None
    at: datetime


@strawberry.type(description="A conversation with the agent; only its owner sees it.")
class Conversation:
    id: strawberry.ID
    title: str
    created_at: datetime
    updated_at: datetime
    messages_loaded: strawberry.Private[list[ConversationMessage] | None]

    @strawberry.field(description="Oldest first. Only on conversation(id).")
    def messages(self) -> list[ConversationMessage] | None:
        return self.messages_loaded

    @classmethod
    def from_payload(cls, payload: dict) -> "Conversation":
        model = agent.Conversation.model_validate(payload)
        messages = None
        if model.messages is not None:
            messages = [ConversationMessage(role=m.role, content=m.content,
                                            run_id=strawberry.ID(m.run_id) if m.run_id else None, at=_time(m.at))
                        for m in model.messages]
        return cls(id=strawberry.ID(model.id), title=model.title, created_at=_time(model.created_at),
                   updated_at=_time(model.updated_at), messages_loaded=messages)


@strawberry.type
class ConversationConnection:
    nodes: list[Conversation]
    page_info: PageInfo
