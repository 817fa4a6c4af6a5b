"""Nameko entrypoints of the agent service: validate, call the domain, serialise.

Identity comes only from ``self.caller`` (the verified token in the RPC
context). Runs are started here and go on in the background: ``start_run``
returns the run id at once; events follow on the run's Redis stream.
"""

from nameko.rpc import RpcProxy
from pydantic import TypeAdapter

from core import __version__
from schema.agent import (
    AgentRunInput,
    ConversationInput,
    ConversationsInput,
    RunEvent,
    RunEventsInput,
    RunInput,
    SystemPromptInput,
)
from schema.errors import Forbidden
from schema.models import Outcome
from schema.permissions import Permission
from schema.rag import SearchHit
from schema.validation import parse
from services.agent.dependencies import Runtime
from services.agent.store import read_events
from services.common.audit import AuditDispatcher
from services.common.dependencies import Redis, RequestLog
from services.common.health import redis_check, report
from services.common.identity import CallerProvider
from services.common.rpc import rpc

SEARCH_HITS = TypeAdapter(list[SearchHit])  # what rag's search returns (schema/rag.py)


class AgentService:
    name = "agent"

    redis = Redis()
    runtime = Runtime()
    caller = CallerProvider()
    audit = AuditDispatcher()
    rag = RpcProxy("rag")
    request_log = RequestLog()

    @rpc
    def health(self) -> dict:
        checks = {"redis": redis_check(self.redis), "model": lambda: f"{self.runtime.backend.value}: "
                                                                        f"{self.runtime.model_name}"}
        return report(self.name, __version__, checks).model_dump(mode="json")

    @rpc
    def start_run(self, message: str, conversation_id: str | None = None) -> dict:
        """Starts a run and returns ``RunStarted`` at once; rag is called with the caller's identity."""
        identity = self.caller.require(Permission.WRITE_AGENT)
        self.caller.require(Permission.READ_AGENT)  # its answer and events are read back: checked before it runs
        data = parse(AgentRunInput, {"message": message, "conversation_id": conversation_id})
        rag = self.rag  # bound to this worker's context: the caller's token travels with every search
        started = self.runtime.start(identity, data.message, data.conversation_id,
                                     search=lambda search: SEARCH_HITS.validate_python(
                                         rag.search(**search.model_dump(mode="json"))),
                                     still_valid=self.caller.still_valid)
        return started.model_dump(mode="json")

    @rpc
    def get_run(self, run_id: str) -> dict:
        identity = self.caller.require(Permission.READ_AGENT)
        data = parse(RunInput, {"run_id": run_id})
        return self.runtime.get_run(identity, data.run_id).model_dump(mode="json")

    @rpc
    def run_events(self, run_id: str, after_seq: int = 0) -> list[dict]:
        """Replay for RPC callers (``nameko shell``); the gateway follows the stream itself."""
        identity = self.caller.require(Permission.READ_AGENT)
        data = parse(RunEventsInput, {"run_id": run_id, "after_seq": after_seq})
        self.runtime.get_run(identity, data.run_id)
        events: list[RunEvent] = read_events(self.redis, self.runtime.settings.redis_prefix, data.run_id,
                                             data.after_seq)
        return [event.model_dump(mode="json") for event in events]

    @rpc
    def cancel_run(self, run_id: str) -> dict:
        identity = self.caller.require(Permission.WRITE_AGENT)
        data = parse(RunInput, {"run_id": run_id})
        return self.runtime.cancel(identity, data.run_id).model_dump(mode="json")

    @rpc
    def list_conversations(self, first: int = 20, after: str | None = None) -> dict:
        identity = self.caller.require(Permission.READ_AGENT)
        data = parse(ConversationsInput, {"first": first, "after": after})
        return self.runtime.conversations.page(identity.user_id, data.first, data.after).model_dump(mode="json")

    @rpc
    def get_conversation(self, conversation_id: str) -> dict:
        identity = self.caller.require(Permission.READ_AGENT)
        data = parse(ConversationInput, {"conversation_id": conversation_id})
        conversation = self.runtime.conversations.get(identity.user_id, data.conversation_id, with_messages=True)
        return conversation.model_dump(mode="json")

    @rpc
    def delete_conversation(self, conversation_id: str) -> bool:
        identity = self.caller.require(Permission.WRITE_AGENT)
        conversation_id = parse(ConversationInput, {"conversation_id": conversation_id}).conversation_id
        self.runtime.conversations.delete(identity.user_id, conversation_id)
        self.audit("agent.conversation.delete", resource=f"conversation:{conversation_id}", identity=identity)
        return True

    @rpc
    def get_system_prompt(self) -> str:
        self.caller.require(Permission.READ_SYSTEM)
        return self.runtime.prompts.get()

    @rpc
    def set_system_prompt(self, prompt: str | None) -> str:
        """Admins only; audited. ``None`` or empty restores the default."""
        identity = self.caller.require()  # the runtime refuses without write:system, audited here
        data = parse(SystemPromptInput, {"prompt": prompt})
        try:
            prompt = self.runtime.set_system_prompt(identity, data.prompt)
        except Forbidden:
            self.audit("agent.system_prompt.set", outcome=Outcome.DENIED, resource="agent:system_prompt",
                       identity=identity)
            raise
        self.audit("agent.system_prompt.set", resource="agent:system_prompt", identity=identity,
                   detail={"length": str(len(prompt))})
        return prompt
