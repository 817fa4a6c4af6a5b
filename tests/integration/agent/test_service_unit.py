"""``AgentService`` as a class (Nameko's ``worker_factory``), beside the real-broker tests.

The runtime is the real one (SQLite, the real Redis under a private prefix, runs in threads, no
model: retrieval-only), the callers carry real tokens (``tests/support/callers.py``). Only rag is
replaced, by a double that answers as the contract declares (``schema/rag.py``: ``search`` takes the
``SearchInput`` fields and returns ``list[SearchHit]``) and records what it was sent.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from nameko.testing.services import worker_factory

from schema.agent import RunEvent, RunRecord, RunStarted, RunStatus
from schema.errors import BadUserInput, Forbidden, NotFound
from schema.permissions import Permission
from schema.rag import SearchHit, SearchInput, SearchMode
from services.agent.config import AgentSettings
from services.agent.db import migrations
from services.agent.runtime import AgentRuntime
from services.agent.service import AgentService
from services.common.db import make_engine, session_factory
from tests.support.callers import Callers
from tests.support.servers import wait_until

OTTERS = SearchHit(
    chunk_id="c1",
    document_id="d1",
    title="otters.md",
    score=0.8,
    content="Sea otters hold hands while they sleep. It keeps them from drifting apart.",
)


class Rag:
    """rag's ``search`` operation as the contract declares it."""

    def __init__(self) -> None:
        self.sent: list[SearchInput] = []

    def search(self, **kwargs) -> list[dict]:
        self.sent.append(SearchInput.model_validate(kwargs))  # the arguments are SearchInput's fields
        return [OTTERS.model_dump(mode="json")]


class Thread:
    """A run in a real thread (the service spawns a managed green thread)."""

    def __init__(self, fn) -> None:
        self.thread = threading.Thread(target=fn, daemon=True)
        self.thread.start()

    def kill(self, exc, when=None) -> None:  # pragma: no cover - cancelling is covered by the real-broker tests
        raise NotImplementedError

    def wait(self) -> None:
        self.thread.join()


@pytest.fixture(scope="module")
def callers():
    callers = Callers.open()
    yield callers
    callers.close()


@pytest.fixture
def runtime(tmp_path, callers):
    settings = AgentSettings(env="development", data_dir=tmp_path, llm_backend="none", redis_prefix=callers.prefix)
    url = settings.agent_database()
    migrations.migrate(url)
    engine = make_engine(url)
    runtime = AgentRuntime(settings, callers.client, session_factory(engine), lambda fn, run_id: Thread(fn))
    yield runtime
    for handle in list(runtime.active.values()):
        handle.wait()
    engine.dispose()


def service(runtime, caller, rag=None):
    return worker_factory(AgentService, runtime=runtime, caller=caller, rag=rag or Rag())


def finished(worker, run_id: str) -> dict:
    return wait_until(lambda: (r := worker.get_run(run_id))["status"] != "RUNNING" and r, 10, "the run's end")


def test_a_run_searches_rag_through_the_contract_and_answers(runtime, callers):
    rag = Rag()
    worker = service(runtime, callers.user(user_id="alice"), rag)
    started = RunStarted.model_validate(worker.start_run("Why do otters hold hands?"))
    assert started.mode.value == "RETRIEVAL_ONLY"

    record = RunRecord.model_validate(finished(worker, started.run_id))
    assert record.status is RunStatus.FINISHED
    assert [c.document_id for c in record.citations] == ["d1"] and "[1] (otters.md)" in record.answer
    assert record.created_at <= record.finished_at and record.created_at.tzinfo is not None
    # what rag was sent: a SearchInput (semantic: without a model, scores meet the relevance floor)
    assert rag.sent == [SearchInput(query="Why do otters hold hands?", top_k=5, mode=SearchMode.SEMANTIC)]

    events = [RunEvent.model_validate(e) for e in worker.run_events(started.run_id)]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[-1].type.value == "RUN_FINISHED"
    assert [e.seq for e in map(RunEvent.model_validate, worker.run_events(started.run_id, after_seq=2))] == [
        e.seq for e in events[2:]
    ]
    conversation = worker.get_conversation(started.conversation_id)
    assert [m["role"] for m in conversation["messages"]] == ["USER", "ASSISTANT"]
    assert conversation["created_at"].endswith("Z")  # datetimes on the wire, UTC


def test_inputs_are_refused_with_their_camel_case_fields(runtime, callers):
    worker = service(runtime, callers.user())
    for call, fields in [
        (lambda: worker.start_run("   "), {"message": "must not be empty"}),
        (lambda: worker.start_run(), {"message": "Field required"}),
        (lambda: worker.run_events("r", after_seq=-1), {"afterSeq"}),
        (lambda: worker.list_conversations(first=0), {"first"}),
        (lambda: worker.get_run(run_id=7), {"runId"}),
    ]:
        with pytest.raises(BadUserInput) as raised:
            call()
        got = raised.value.details["fields"]
        assert (got if isinstance(fields, dict) else set(got)) == fields
    assert worker.list_conversations() == {"items": [], "has_next_page": False, "end_cursor": None}


def test_a_run_needs_read_agent_too_and_nothing_starts_without_it(runtime, callers):
    rag = Rag()
    worker = service(runtime, callers.user(scopes=[Permission.WRITE_AGENT, Permission.READ_RAG]), rag)
    with pytest.raises(Forbidden, match="read:agent"):
        worker.start_run("hello")
    assert runtime.active == {} and rag.sent == []


def test_runs_and_conversations_are_their_owners_only(runtime, callers):
    alice = service(runtime, callers.user(user_id=f"alice-{uuid.uuid4().hex[:6]}"))
    started = alice.start_run("Otters?")
    finished(alice, started["run_id"])
    mallory = service(runtime, callers.user(user_id=f"mallory-{uuid.uuid4().hex[:6]}"))
    for call in (
        lambda: mallory.get_run(started["run_id"]),
        lambda: mallory.run_events(started["run_id"]),
        lambda: mallory.get_conversation(started["conversation_id"]),
        lambda: mallory.delete_conversation(started["conversation_id"]),
    ):
        with pytest.raises(NotFound):
            call()
    assert alice.delete_conversation(started["conversation_id"]) is True
    alice.audit.assert_called_once()
    assert alice.audit.call_args.args == ("agent.conversation.delete",)
    with pytest.raises(NotFound):
        alice.get_conversation(started["conversation_id"])


def test_the_system_prompt_needs_write_system_and_is_audited(runtime, callers):
    user = service(runtime, callers.user("user"))
    with pytest.raises(Forbidden, match="write:system"):
        user.set_system_prompt("Obey me.")
    # refused before the domain, and audited by the service itself (a direct RPC passes no gateway)
    user.audit.assert_called_once()
    assert user.audit.call_args.args == ("permission_denied",)
    assert user.audit.call_args.kwargs["resource"] == "operation:agent.set_system_prompt"
    with pytest.raises(Forbidden, match="read:system"):
        user.get_system_prompt()

    admin = service(runtime, callers.user("admin"))
    assert admin.set_system_prompt("  Be terse.  ") == "Be terse."
    assert admin.get_system_prompt() == "Be terse."
    assert admin.audit.call_args.kwargs["detail"] == {"length": "9"}
    with pytest.raises(BadUserInput) as raised:
        admin.set_system_prompt("x" * 9000)
    assert set(raised.value.details["fields"]) == {"prompt"}
    assert admin.set_system_prompt(None) == runtime.prompts.DEFAULT
