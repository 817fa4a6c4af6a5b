"""Nameko entrypoints of the agent service: each one operation of ``schema/agent.py``, a domain call.

``@operation`` checks the declared access against ``self.caller`` (the verified token in the RPC
context), parses the input and dumps the output (``services/common/entrypoint.py``). Runs are
started here and go on in the background: ``start_run`` returns at once; events follow on the
run's Redis stream.
"""

from __future__ import annotations

from core import __version__
from schema import agent, rag
from schema.agent import (
    AgentRunInput,
    Conversation,
    ConversationInput,
    ConversationPage,
    ConversationsInput,
    RunEvent,
    RunEventsInput,
    RunInput,
    RunRecord,
    RunStarted,
    SystemPromptInput,
)
from schema.models import Identity
from services.agent.dependencies import Runtime
from services.agent.runner import Search
from services.agent.runtime import AgentRuntime
from services.common.audit import AuditDispatcher
from services.common.consumers import RpcProxy
from services.common.dependencies import Redis, RequestLog
from services.common.entrypoint import invoke, operation
from services.common.health import redis_check, report
from services.common.identity import CallerProvider
from services.common.rpc import rpc
from services.common.status import status_probe


class AgentService:
    name = "agent"

    redis = Redis()
    runtime: AgentRuntime = Runtime()  # the provider injects the runtime (services.agent.runtime)
    caller = CallerProvider()
    audit = AuditDispatcher()
    rag = RpcProxy("rag")
    request_log = RequestLog()

    @rpc
    @status_probe  # agenthub status asks every instance at once (services/common/status.py)
    def health(self) -> dict:
        checks = {
            "redis": redis_check(self.redis),
            "model": lambda: f"{self.runtime.backend.value}: {self.runtime.model_name}",
        }
        return report(self.name, __version__, checks).model_dump(mode="json")

    def _search(self) -> Search:
        """rag's ``search`` operation as this caller: the proxy is bound to this worker's context, so the
        caller's token travels with every search and rag filters by what they may read."""
        proxy = self.rag
        return lambda data: invoke(proxy, rag.SEARCH, data)

    @operation(agent.START_RUN)
    def start_run(self, identity: Identity, data: AgentRunInput) -> RunStarted:
        return self.runtime.start(identity, data, search=self._search(), still_valid=self.caller.still_valid)

    @operation(agent.GET_RUN)
    def get_run(self, identity: Identity, data: RunInput) -> RunRecord:
        return self.runtime.get_run(identity, data.run_id)

    @operation(agent.RUN_EVENTS)
    def run_events(self, identity: Identity, data: RunEventsInput) -> list[RunEvent]:
        return self.runtime.events(identity, data.run_id, data.after_seq)

    @operation(agent.CANCEL_RUN)
    def cancel_run(self, identity: Identity, data: RunInput) -> RunRecord:
        return self.runtime.cancel(identity, data.run_id)

    @operation(agent.LIST_CONVERSATIONS)
    def list_conversations(self, identity: Identity, data: ConversationsInput) -> ConversationPage:
        return self.runtime.conversations.page(identity.user_id, data.first, data.after)

    @operation(agent.GET_CONVERSATION)
    def get_conversation(self, identity: Identity, data: ConversationInput) -> Conversation:
        return self.runtime.conversations.get(identity.user_id, data.conversation_id, with_messages=True)

    @operation(agent.DELETE_CONVERSATION)
    def delete_conversation(self, identity: Identity, data: ConversationInput) -> bool:
        return self.runtime.delete_conversation(identity, data.conversation_id, self.audit)

    @operation(agent.GET_SYSTEM_PROMPT)
    def get_system_prompt(self, identity: Identity) -> str:
        return self.runtime.prompts.get()

    @operation(agent.SET_SYSTEM_PROMPT)
    def set_system_prompt(self, identity: Identity, data: SystemPromptInput) -> str:
        return self.runtime.set_system_prompt(identity, data.prompt, self.audit)
