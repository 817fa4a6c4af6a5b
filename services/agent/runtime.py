"""Runs as background work: ``start`` returns at once, the run goes on in a green thread.

Why not one long RPC: a run can last minutes; an RPC that long would hold a
worker, outlive its caller's timeout and, if the broker redelivered it, run
twice. Instead ``start`` records the run (in SQL), writes ``RUN_STARTED`` and
spawns the run; every later step goes to the run's Redis stream, which the
gateway relays. Cancel works from any agent instance through a flag in Redis, and
at once on the instance that runs it.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from sqlalchemy.orm import sessionmaker

from core import metrics
from core.llm import openai_generator
from schema.agent import (
    AgentRunInput,
    ConversationMessage,
    EventType,
    MessageRole,
    RunEvent,
    RunMode,
    RunRecord,
    RunStarted,
    RunStatus,
)
from schema.errors import Conflict, Forbidden, NotFound, RateLimited, ServiceUnavailable
from schema.models import Identity
from schema.permissions import Permission
from services.agent.config import AgentSettings
from services.agent.llm import Backend, LocalModel, select_backend
from services.agent.runner import (
    RunCancelled,
    RunFailed,
    RunOutcome,
    RunState,
    Search,
    Toolbox,
    run_agent,
    run_fixed_plan,
    run_retrieval_only,
)
from services.agent.sql import OwnDatabase, SqlDatabase, same_database
from services.agent.store import (
    ConversationStore,
    RunEvents,
    RunStore,
    SystemPrompts,
    fit_history,
    last_seq,
    read_events,
)

log = logging.getLogger("agenthub.agent")

STALE_AFTER_DEADLINE = 30  # seconds after its own time limit (plus the hard limit's 10 s) a run is dead

Audit = Callable[..., None]
"""The service's ``AuditDispatcher`` for this call: ``audit(action, resource=..., identity=..., ...)``."""

Spawn = Callable[[Callable[[], None], str], Any]
"""``spawn(fn, run_id)`` starts ``fn`` in the background and returns a handle with ``wait`` and
``kill(error, when)`` (raise ``error`` in it if ``when()`` still holds when it is raised)."""


@dataclass(frozen=True)
class RunTools:
    """What one run may use, decided from the caller's permissions before it starts."""

    search: Search | None
    database: SqlDatabase | None
    still_valid: Callable[[], None] | None = None


class AgentRuntime:
    """Everything a run needs, built once per process."""

    def __init__(self, settings: AgentSettings, client: redis.Redis, sessions: sessionmaker, spawn: Spawn) -> None:
        self.settings, self.client, self.spawn = settings, client, spawn
        self.backend = select_backend(settings)
        self.generator = openai_generator(settings) if self.backend is Backend.OPENAI else None
        self.local_model = LocalModel(settings) if self.backend is Backend.LOCAL else None
        if settings.sql_url and same_database(settings.sql_url, settings.auth_database_url()):
            raise OwnDatabase(
                "AGENTHUB_SQL_URL is AgentHub's own auth database (AGENTHUB_DATABASE_URL): "
                "the agent refuses to query it."
            )
        self.database = (
            SqlDatabase.from_url(
                settings.sql_url, timeout=settings.sql_timeout, row_cap=settings.sql_row_cap, tables=settings.sql_tables
            )
            if settings.sql_url
            else None
        )
        prefix = settings.redis_prefix
        self.runs = RunStore(sessions, client, prefix, settings.agent_run_ttl)
        self.conversations = ConversationStore(sessions, settings.agent_conversation_ttl)
        self.prompts = SystemPrompts(sessions)
        self.active: dict[str, Any] = {}
        # Runs that may be interrupted: those still in their plan. Once a run records its end, a
        # cancel or stop that arrives is dropped (raised there, it would cut the record short).
        self.interruptible: set[str] = set()

    @property
    def mode(self) -> RunMode:
        return self.backend.mode

    @property
    def model_name(self) -> str:
        if self.backend is Backend.OPENAI:
            return self.settings.llm_model
        if self.local_model is not None:  # Backend.LOCAL
            return self.local_model.name
        return "none"

    def warm_up(self) -> None:
        """Reads the database schema at start, so a bad AGENTHUB_SQL_URL shows in the log at once.

        It does not stop the service: runs still work, and query_database
        retries (and reports the error to the model) until the database answers.
        """
        if self.database is not None:
            try:
                self.database.load_schema()
            except OwnDatabase:
                raise  # a configuration error: the service does not start
            except Exception as error:
                log.error("query_database: cannot read the database schema: %s: %s", type(error).__name__, error)

    # -- entrypoint operations -------------------------------------------------------------

    def start(
        self,
        identity: Identity,
        data: AgentRunInput,
        search: Search | None,
        still_valid: Callable[[], None] | None = None,
    ) -> RunStarted:
        """Starting needs ``write:agent`` (the operation's) and ``read:agent``: the run's answer and events
        are read back, so it is refused before anything runs. Tools the caller may not use are not
        offered: searching needs ``read:rag``, the database ``query:sql``; ``still_valid`` re-checks the
        caller's token before each tool call."""
        if not identity.can(Permission.READ_AGENT):
            raise Forbidden(
                f"This needs the '{Permission.READ_AGENT.value}' permission too.",
                {"requires": Permission.READ_AGENT.name},
            )
        message, conversation_id = data.message.strip(), data.conversation_id
        search = search if identity.can(Permission.READ_RAG) else None
        tools = RunTools(search, self.database if identity.can(Permission.QUERY_SQL) else None, still_valid)
        conversation = self.conversations.get(identity.user_id, conversation_id) if conversation_id else None
        if len(self.active) >= self.settings.agent_max_runs:
            raise ServiceUnavailable("The agent is busy with other runs. Try again shortly.", {"service": "agent"})
        now = _now()
        run_id = uuid.uuid4().hex
        deadline_at = now + timedelta(seconds=self.settings.agent_run_timeout + STALE_AFTER_DEADLINE)
        if not self.runs.claim_slot(
            identity.user_id, run_id, deadline_at.timestamp(), self.settings.agent_max_runs_per_user
        ):
            raise RateLimited(
                f"You already have {self.settings.agent_max_runs_per_user} runs in progress: "
                "wait for one to finish or cancel it.",
                {"retryAfter": 5},
            )
        try:
            conversation = conversation or self.conversations.create(identity.user_id, title=message)
            history = fit_history(self.conversations.messages(conversation.id), self.settings.agent_history_tokens)
            record = RunRecord(
                id=run_id,
                conversation_id=conversation.id,
                status=RunStatus.RUNNING,
                mode=self.mode,
                model=self.model_name,
                created_at=now,
                deadline_at=deadline_at,
            )
            self.runs.create(record, owner=identity.user_id)
            events = RunEvents(self.client, self.settings.redis_prefix, record.id, self.settings.agent_run_ttl)
            events.emit(
                EventType.RUN_STARTED,
                data={"mode": record.mode.value, "model": record.model, "conversationId": conversation.id},
            )
            self.active[record.id] = self.spawn(
                lambda: self._execute(record, identity.user_id, message, history, tools, events), record.id
            )
        except Exception:
            self.runs.release_slot(identity.user_id, run_id)
            raise
        return RunStarted(run_id=record.id, conversation_id=conversation.id, mode=record.mode)

    def get_run(self, identity: Identity, run_id: str) -> RunRecord:
        """The caller's run; one whose agent instance died mid-run is marked FAILED here."""
        record = self.runs.get(run_id, identity.user_id)
        if (
            record.status is RunStatus.RUNNING
            and record.deadline_at
            and _now() > record.deadline_at
            and run_id not in self.active
        ):
            events = RunEvents(self.client, self.settings.redis_prefix, run_id, self.settings.agent_run_ttl)
            events.seq = last_seq(self.client, self.settings.redis_prefix, run_id)
            state = RunState(events=events, deadline=0)
            self._fail(
                record,
                events,
                state,
                RunStatus.FAILED,
                "RUN_FAILED",
                "The run stopped without finishing: the agent instance running it went away.",
            )
            record = self.runs.get(run_id, identity.user_id)
        return record

    def cancel(self, identity: Identity, run_id: str) -> RunRecord:
        record = self.get_run(identity, run_id)
        if record.status is not RunStatus.RUNNING:
            raise Conflict("The run has already ended.", {"status": record.status.value})
        self.runs.request_cancel(run_id)
        handle = self.active.get(run_id)
        if handle is not None:  # here: stop it now rather than at its next check
            self._interrupt(run_id, handle, RunCancelled())
        return self.runs.get(run_id, identity.user_id)

    def events(self, identity: Identity, run_id: str, after_seq: int) -> list[RunEvent]:
        """The caller's run's events after ``after_seq`` (a replay for RPC callers)."""
        self.get_run(identity, run_id)  # NOT_FOUND unless the run is the caller's
        return read_events(self.client, self.settings.redis_prefix, run_id, after_seq)

    def delete_conversation(self, identity: Identity, conversation_id: str, audit: Audit) -> bool:
        self.conversations.delete(identity.user_id, conversation_id)
        audit("agent.conversation.delete", resource=f"conversation:{conversation_id}", identity=identity)
        return True

    def set_system_prompt(self, identity: Identity, prompt: str | None, audit: Audit) -> str:
        """Only holders of ``write:system`` get here (the operation's access); audited. ``None`` or
        empty restores the default."""
        prompt = self.prompts.set(prompt.strip() if prompt else None)
        audit(
            "agent.system_prompt.set",
            resource="agent:system_prompt",
            identity=identity,
            detail={"length": str(len(prompt))},
        )
        return prompt

    def stop(self) -> None:
        """Ends runs in flight with RUN_FAILED instead of leaving them RUNNING forever."""
        for run_id, handle in list(self.active.items()):
            self._interrupt(run_id, handle, RunFailed("The agent service stopped during the run. Please try again."))

    def _interrupt(self, run_id: str, handle: Any, error: Exception) -> None:
        """Raises ``error`` in a run still in its plan, and waits (up to 5 s) for it to end."""
        handle.kill(error, when=lambda: run_id in self.interruptible)
        _wait(handle, 5)

    # -- the run itself ----------------------------------------------------------------------

    def _execute(
        self,
        record: RunRecord,
        owner: str,
        message: str,
        history: list[ConversationMessage],
        tools: RunTools,
        events: RunEvents,
    ) -> None:
        state = RunState(
            events=events,
            deadline=time.monotonic() + self.settings.agent_run_timeout,
            is_cancelled=lambda: self.runs.cancel_requested(record.id),
            still_valid=tools.still_valid,
        )
        toolbox = Toolbox(
            state,
            tools.search,
            tools.database,
            self.settings.agent_tool_timeout,
            self.settings.agent_search_top_k,
            self.settings.agent_min_relevance,
        )
        ended = "failed"
        try:
            ended = self._run_and_record(record, owner, message, history, state, toolbox, events)
        except Exception:  # raised here, it would stop the service: Nameko kills the container
            log.exception(
                "agent run: could not record how it ended; it is marked FAILED once past its deadline",
                extra={"fields": {"run_id": record.id}},
            )
        finally:
            metrics.agent_run(self.mode.value.lower(), self.backend.value, ended, state.steps, state.usage)
            self.active.pop(record.id, None)
            try:
                self.runs.release_slot(owner, record.id)
            except Exception:  # the slot lapses at the run's deadline
                log.warning("agent run: could not release its slot", extra={"fields": {"run_id": record.id}})

    def _run_and_record(
        self,
        record: RunRecord,
        owner: str,
        message: str,
        history: list[ConversationMessage],
        state: RunState,
        toolbox: Toolbox,
        events: RunEvents,
    ) -> str:
        """Runs the plan and records its end (run record and terminal event); returns how it ended."""
        try:
            with _HardLimit(self.settings.agent_run_timeout + 10), self._interruptible(record.id):
                outcome = self._plan(state, toolbox, message, history)
            self._finish(record, owner, message, outcome, events)
            return "finished"
        except RunCancelled:
            self._fail(record, events, state, RunStatus.CANCELLED, "CANCELLED", "The run was cancelled.")
            return "cancelled"
        except RunFailed as error:
            self._fail(record, events, state, RunStatus.FAILED, error.code, str(error))
        except Exception:  # never leave a run RUNNING: log in full, tell the user briefly
            log.exception("agent run failed", extra={"fields": {"run_id": record.id}})
            self._fail(
                record, events, state, RunStatus.FAILED, "INTERNAL", f"The run failed unexpectedly (run {record.id})."
            )
        return "failed"

    @contextlib.contextmanager
    def _interruptible(self, run_id: str) -> Iterator[None]:
        self.interruptible.add(run_id)
        try:
            yield
        finally:
            self.interruptible.discard(run_id)

    def _plan(self, state: RunState, toolbox: Toolbox, message: str, history: list[ConversationMessage]) -> RunOutcome:
        if self.backend is Backend.OPENAI:
            return run_agent(
                state, toolbox, self.generator, self.prompts.get(), history, message, self.settings.agent_max_steps
            )
        if self.backend is Backend.LOCAL:
            return run_fixed_plan(state, toolbox, self.local_model, message)
        return run_retrieval_only(state, toolbox, message)

    def _finish(self, record: RunRecord, owner: str, message: str, outcome: RunOutcome, events: RunEvents) -> None:
        now = _now()
        record = record.model_copy(
            update={
                "status": RunStatus.FINISHED,
                "answer": outcome.answer,
                "citations": outcome.citations,
                "steps": outcome.steps,
                "usage": outcome.usage,
                "finished_at": now,
                "mode": outcome.mode or record.mode,
            }
        )
        try:
            self.conversations.append(
                owner,
                record.conversation_id,
                [
                    ConversationMessage(role=MessageRole.USER, content=message, run_id=record.id, at=record.created_at),
                    ConversationMessage(role=MessageRole.ASSISTANT, content=outcome.answer, run_id=record.id, at=now),
                ],
            )
        except NotFound:  # the owner deleted the conversation during the run: the run still finishes
            pass
        self.runs.save(record)
        events.emit(EventType.RUN_FINISHED, data=_result_data(record))

    def _fail(
        self, record: RunRecord, events: RunEvents, state: RunState, status: RunStatus, code: str, message: str
    ) -> None:
        record = record.model_copy(
            update={
                "status": status,
                "error": message,
                "steps": state.steps or record.steps,
                "citations": list(state.citations.values()) or record.citations,
                "usage": state.usage,
                "finished_at": _now(),
            }
        )
        try:
            self.runs.save(record)
        finally:
            events.emit(EventType.RUN_FAILED, data={"code": code, "message": message, **_result_data(record)})


def _result_data(record: RunRecord) -> dict[str, Any]:
    data = record.model_dump(
        mode="json", include={"answer", "mode", "model", "citations", "steps", "usage", "conversation_id", "status"}
    )
    return data


def _now() -> datetime:
    return datetime.now(UTC)


class _HardLimit:
    """A backstop around the whole run (the run's own deadline checks come first)."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.timer = seconds, None

    def __enter__(self) -> None:
        try:
            import eventlet
            from eventlet import patcher
        except ImportError:  # pragma: no cover
            return
        if patcher.is_monkey_patched("socket"):
            self.timer = eventlet.Timeout(
                self.seconds, RunFailed("The run took longer than its time limit.", code="TIMEOUT")
            )

    def __exit__(self, *exc: Any) -> None:
        if self.timer is not None:
            self.timer.cancel()


def _wait(handle: Any, seconds: float) -> None:
    try:
        import eventlet

        with eventlet.Timeout(seconds, False):
            handle.wait()
    except Exception:  # the run's own handler has recorded how it ended
        pass
