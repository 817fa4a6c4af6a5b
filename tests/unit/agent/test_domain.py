"""Plain domain pieces of the agent, without servers."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from schema.agent import MAX_MESSAGE_CHARS, AgentRunInput, ConversationMessage, MessageRole, RunEventsInput, RunRecord
from schema.errors import BadUserInput
from schema.validation import parse
from services.agent.config import AgentSettings
from services.agent.llm import Backend, local_installed, select_backend
from services.agent.runner import RunFailed, RunState, best_sentence
from services.agent.store import fit_history


def settings(**values) -> AgentSettings:
    return AgentSettings(env="development", **values)


def test_backend_selection():
    assert select_backend(settings(llm_base_url="http://127.0.0.1:11434/v1")) is Backend.OPENAI
    assert select_backend(settings(llm_backend="none", llm_base_url="http://x/v1")) is Backend.NONE
    assert select_backend(settings()) is (Backend.LOCAL if local_installed() else Backend.NONE)
    assert [b.mode.value for b in Backend] == ["AGENT", "FIXED_PLAN", "RETRIEVAL_ONLY"]


def test_settings_defaults_follow_the_issue():
    s = settings()
    assert (s.agent_max_steps, s.sql_timeout, s.sql_row_cap) == (8, 5.0, 200)
    assert s.agent_run_ttl >= 3600


def _message(role: MessageRole, chars: int) -> ConversationMessage:
    return ConversationMessage(role=role, content="x" * chars, at=time.time())


def test_history_keeps_the_newest_messages_that_fit():
    history = [_message(MessageRole.USER if i % 2 == 0 else MessageRole.ASSISTANT, 400) for i in range(10)]
    kept = fit_history(history, budget_tokens=450)  # ~104 tokens a message
    assert kept == history[-4:]
    assert fit_history(history, budget_tokens=0) == []
    # never starts with the assistant's half of an exchange
    assert fit_history(history, budget_tokens=330)[0].role is MessageRole.USER


def test_best_sentence_prefers_the_question_words():
    text = "Foals walk within an hour. Zebras migrate 500 km each year. They eat grass."
    assert best_sentence("How far do zebras migrate?", text) == "Zebras migrate 500 km each year."
    assert best_sentence("unrelated", text) == "Foals walk within an hour."


def test_a_run_past_its_deadline_fails():
    state = RunState(events=None, deadline=time.monotonic() - 1)
    with pytest.raises(RunFailed, match="time limit"):
        state.check()


def test_inputs_are_checked_by_their_contract_models():
    with pytest.raises(BadUserInput) as raised:
        parse(AgentRunInput, {"message": "   "})
    assert raised.value.details["fields"] == {"message": "must not be empty"}
    with pytest.raises(BadUserInput) as raised:
        parse(AgentRunInput, {"message": "x" * (MAX_MESSAGE_CHARS + 1), "conversation_id": 7})
    assert set(raised.value.details["fields"]) == {"message", "conversationId"}
    with pytest.raises(BadUserInput) as raised:
        parse(RunEventsInput, {"run_id": "r", "after_seq": -1})
    assert set(raised.value.details["fields"]) == {"afterSeq"}


def test_run_times_are_datetimes_and_old_epoch_records_still_read():
    stored = {
        "id": "r",
        "conversation_id": "c",
        "status": "FINISHED",
        "mode": "AGENT",
        "created_at": 1_700_000_000.5,
        "finished_at": 1_700_000_003.0,
    }  # as records were kept before
    record = RunRecord.model_validate(stored)
    assert record.created_at == datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC)
    assert RunRecord.model_validate(record.model_dump(mode="json")) == record
    assert record.model_dump(mode="json")["finished_at"] == "2023-11-14T22:13:23Z"
