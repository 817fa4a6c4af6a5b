"""RPC payloads of the agent service (inputs and outputs), and the Redis keys of its run streams.

The agent service writes run events to a Redis Stream; the gateway reads the
same stream to relay it as a subscription. Both import the key functions and
``RunEvent`` from here, so neither side can drift.

Stream entry ids are ``<seq>-1``: the sequence number *is* the position, so a
client resuming ``afterSeq=n`` reads from id ``n-1`` exclusive, without gaps
or duplicates.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schema.contract import Operation
from schema.permissions import Permission

MAX_MESSAGE_CHARS = 8000
MAX_SYSTEM_PROMPT_CHARS = 8000
MAX_PAGE = 100


class RunMode(str, Enum):
    """How a run reasons: what the configured model can do."""

    AGENT = "AGENT"  # an OpenAI-compatible model calls tools in a loop
    FIXED_PLAN = "FIXED_PLAN"  # the local base model: search, then a grounded completion
    RETRIEVAL_ONLY = "RETRIEVAL_ONLY"  # no model: extractive answer from retrieved passages


class RunStatus(str, Enum):
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class EventType(str, Enum):
    RUN_STARTED = "RUN_STARTED"
    TOKEN = "TOKEN"
    TOOL_CALL = "TOOL_CALL"
    TOOL_RESULT = "TOOL_RESULT"
    CITATION = "CITATION"
    RUN_FINISHED = "RUN_FINISHED"
    RUN_FAILED = "RUN_FAILED"


TERMINAL_EVENTS = frozenset({EventType.RUN_FINISHED, EventType.RUN_FAILED})


class RunEvent(BaseModel):
    """One entry of a run's stream, in order of ``seq`` (1, 2, 3, ...)."""

    run_id: str
    seq: int
    type: EventType
    delta: str | None = None  # TOKEN: the text the model produced
    tool: str | None = None  # TOOL_CALL / TOOL_RESULT: the tool's name
    data: dict[str, Any] = Field(default_factory=dict)

    def to_fields(self) -> dict[str, str]:
        """Flat string fields for XADD."""
        fields = {"type": self.type.value, "data": json.dumps(self.data, separators=(",", ":"))}
        if self.delta is not None:
            fields["delta"] = self.delta
        if self.tool is not None:
            fields["tool"] = self.tool
        return fields

    @classmethod
    def from_entry(cls, run_id: str, entry_id: bytes | str, fields: dict[Any, Any]) -> RunEvent:
        def text(key: str) -> str | None:
            value = fields.get(key, fields.get(key.encode()))
            return value.decode() if isinstance(value, bytes) else value

        entry = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
        return cls(
            run_id=run_id,
            seq=int(entry.split("-", 1)[0]),
            type=EventType(text("type")),
            delta=text("delta"),
            tool=text("tool"),
            data=json.loads(text("data") or "{}"),
        )


def entry_id(seq: int) -> str:
    return f"{seq}-1"


def run_events_key(prefix: str, run_id: str) -> str:
    return f"{prefix}agent:run:{run_id}:events"


def run_key(prefix: str, run_id: str) -> str:
    return f"{prefix}agent:run:{run_id}"


class Citation(BaseModel):
    document_id: str
    chunk_id: str | None = None
    title: str = ""
    score: float | None = None
    snippet: str = ""


class Step(BaseModel):
    """One tool call of a run, as recorded for the client."""

    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    result_summary: str = ""
    duration_ms: float = 0.0
    error: bool = False


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class RunStarted(BaseModel):
    """What ``start_run`` returns at once; the run goes on in the service."""

    run_id: str
    conversation_id: str
    mode: RunMode


class RunRecord(BaseModel):
    """A run's state and, once finished, its result."""

    id: str
    conversation_id: str
    status: RunStatus
    mode: RunMode
    model: str = ""
    answer: str = ""
    citations: list[Citation] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    error: str | None = None
    created_at: datetime
    finished_at: datetime | None = None
    deadline_at: datetime | None = None  # a RUNNING run past this has lost its agent instance (not in the API)


class MessageRole(str, Enum):
    USER = "USER"
    ASSISTANT = "ASSISTANT"


class ConversationMessage(BaseModel):
    role: MessageRole
    content: str
    run_id: str | None = None
    at: datetime


class Conversation(BaseModel):
    id: str
    title: str
    created_at: datetime
    updated_at: datetime
    messages: list[ConversationMessage] | None = Field(None, description="Oldest first. Only on conversation(id).")


class ConversationPage(BaseModel):
    items: list[Conversation]
    has_next_page: bool
    end_cursor: str | None = None


# -- inputs: the one validation of each operation's arguments (``schema.validation.parse``) ---------------


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentRunInput(_Input):
    """A message to the agent; without ``conversation_id`` a new conversation starts."""

    message: str
    conversation_id: str | None = None

    @field_validator("message")
    @classmethod
    def _message(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        if len(value) > MAX_MESSAGE_CHARS:
            raise ValueError(f"must be at most {MAX_MESSAGE_CHARS} characters")
        return value


class RunInput(_Input):
    run_id: str


class RunEventsInput(_Input):
    run_id: str
    after_seq: int = Field(0, ge=0)


class ConversationsInput(_Input):
    first: int = Field(20, ge=1, le=MAX_PAGE)
    after: str | None = None


class ConversationInput(_Input):
    conversation_id: str


class SystemPromptInput(_Input):
    """``None`` or empty restores the default prompt."""

    prompt: str | None = Field(None, max_length=MAX_SYSTEM_PROMPT_CHARS)


# -- operations: one declaration each (schema/contract.py); the wire is unchanged ------------------------
# Runs need both write:agent (declared) and read:agent (their answer and events are read back): the
# second is checked by the runtime before anything runs.

START_RUN: Operation[AgentRunInput, RunStarted] = Operation(
    "agent",
    "start_run",
    AgentRunInput,
    RunStarted,
    Permission.WRITE_AGENT,
    "Start a run: RunStarted at once, then the run goes on in the service and its events on its stream.",
    cost=20,
)
GET_RUN: Operation[RunInput, RunRecord] = Operation(
    "agent", "get_run", RunInput, RunRecord, Permission.READ_AGENT, "One of my runs."
)
RUN_EVENTS: Operation[RunEventsInput, list[RunEvent]] = Operation(
    "agent",
    "run_events",
    RunEventsInput,
    list[RunEvent],
    Permission.READ_AGENT,
    "Events of one of my runs after afterSeq, oldest first (a replay; the gateway follows the stream itself).",
)
CANCEL_RUN: Operation[RunInput, RunRecord] = Operation(
    "agent", "cancel_run", RunInput, RunRecord, Permission.WRITE_AGENT, "Stop one of my runs."
)
LIST_CONVERSATIONS: Operation[ConversationsInput, ConversationPage] = Operation(
    "agent",
    "list_conversations",
    ConversationsInput,
    ConversationPage,
    Permission.READ_AGENT,
    "My conversations, newest first.",
)
GET_CONVERSATION: Operation[ConversationInput, Conversation] = Operation(
    "agent", "get_conversation", ConversationInput, Conversation, Permission.READ_AGENT, "One of my conversations."
)
DELETE_CONVERSATION: Operation[ConversationInput, bool] = Operation(
    "agent",
    "delete_conversation",
    ConversationInput,
    bool,
    Permission.WRITE_AGENT,
    "Delete one of my conversations and its messages.",
)
GET_SYSTEM_PROMPT: Operation[None, str] = Operation(
    "agent", "get_system_prompt", None, str, Permission.READ_SYSTEM, "The agent's system prompt."
)
SET_SYSTEM_PROMPT: Operation[SystemPromptInput, str] = Operation(
    "agent",
    "set_system_prompt",
    SystemPromptInput,
    str,
    Permission.WRITE_SYSTEM,
    "Administrators only: replace the agent's system prompt (null: the default).",
)
