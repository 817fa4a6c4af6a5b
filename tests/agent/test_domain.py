"""Plain domain pieces of the agent, without servers."""

from __future__ import annotations

import time

import pytest

from schema.agent import ConversationMessage, MessageRole
from services.agent.config import AgentSettings
from services.agent.llm import Backend, local_installed, select_backend
from services.agent.runner import RunFailed, RunState, best_sentence
from services.agent.store import fit_history

pytestmark = pytest.mark.unit


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
