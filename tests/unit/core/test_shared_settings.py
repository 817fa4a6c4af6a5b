"""One declaration for what several processes must agree on: the model (rag and agent) and the
API key cache (auth caps a grant by it, the gateway caches it)."""

from __future__ import annotations

import pytest

from core.llm import LlmSettings
from core.settings import CommonSettings
from gateway.settings import GatewaySettings
from services.agent.config import AgentSettings
from services.agent.llm import Backend, select_backend
from services.common.settings import ServiceSettings
from services.rag.settings import RagSettings

LLM_FIELDS = set(LlmSettings.model_fields)


def test_rag_and_agent_read_the_same_model_settings():
    for settings_class in (RagSettings, AgentSettings):
        for name in LLM_FIELDS:
            assert repr(settings_class.model_fields[name]) == repr(LlmSettings.model_fields[name]), name


@pytest.mark.parametrize(
    "values, openai",
    [
        ({"llm_base_url": "http://127.0.0.1:11434/v1"}, True),
        ({"llm_backend": "openai"}, True),
        ({"llm_backend": "none", "llm_base_url": "http://x/v1"}, False),  # rag used to generate anyway
        ({"llm_backend": "local", "llm_base_url": "http://x/v1"}, False),
        ({}, False),
    ],
)
def test_one_backend_choice_for_rag_and_agent(values, openai):
    rag = RagSettings(env="development", **values)
    agent = AgentSettings(env="development", **values)
    assert rag.uses_openai is openai
    assert (select_backend(agent) is Backend.OPENAI) is openai


def test_the_api_key_cache_is_one_setting_of_one_type():
    # it was an int in the services' settings and a float in the gateway's
    field = repr(CommonSettings.model_fields["api_key_cache_seconds"])
    assert repr(GatewaySettings.model_fields["api_key_cache_seconds"]) == field
    assert repr(ServiceSettings.model_fields["api_key_cache_seconds"]) == field
    assert GatewaySettings(api_key_cache_seconds="0.5").api_key_cache_seconds == 0.5
    assert ServiceSettings(api_key_cache_seconds="0.5").api_key_cache_seconds == 0.5
