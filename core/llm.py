"""The language model both rag (generative ``ask``) and agent (runs) use: one set of
``AGENTHUB_LLM_*`` settings and one way to build Haystack's OpenAI chat generator.

Each service mixes ``LlmSettings`` into its settings class, so one variable means
the same thing in every process; each chooses only what differs by use (rag answers
at temperature 0 so its cached answers are reproducible; the agent streams, so it
never retries a request whose tokens were already sent to the client).
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from core import metrics, tracing

OPENAI = "openai"


class LlmSettings(BaseSettings):
    """The model, shared by rag and agent (mixed into ``RagSettings`` and ``AgentSettings``)."""

    model_config = SettingsConfigDict(env_prefix="AGENTHUB_", extra="ignore")

    llm_backend: Literal["openai", "local", "none"] | None = Field(
        None,
        description="Default: openai when a base URL is set, else local when installed (agent only; rag "
        "then answers extractively), else none.",
    )
    llm_base_url: str | None = Field(
        None,
        description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1; "
        "unset: extractive answers and a retrieval-only agent.",
    )
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = Field(None, description="Sent as the bearer key; local servers ignore it.")
    llm_temperature: float = Field(0.2, ge=0, le=2, description="The agent's; rag's answers use 0.")
    llm_max_tokens: int = Field(1024, ge=1)
    llm_timeout: float = Field(60.0, gt=0, description="Seconds for one model request.")
    llm_local_model_path: str | None = Field(
        None, description="GGUF file for the local backend; default: the gemma3-270m package's model."
    )
    llm_local_threads: int = Field(2, ge=1)

    @property
    def uses_openai(self) -> bool:
        """The OpenAI-compatible server is the model: chosen, or implied by a base URL."""
        return self.llm_backend == OPENAI or (self.llm_backend is None and bool(self.llm_base_url))


def openai_generator(
    settings: LlmSettings, *, temperature: float | None = None, max_retries: int = 0, streaming: bool = True
) -> Any:
    """Haystack's ``OpenAIChatGenerator`` for the configured server, each call counted and traced.

    ``temperature`` defaults to ``llm_temperature``; ``streaming`` asks the server for token usage at
    the end of a stream (the server refuses that option on a request that does not stream)."""
    from haystack.components.generators.chat import OpenAIChatGenerator
    from haystack.utils import Secret

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
    generation: dict[str, Any] = {
        "temperature": settings.llm_temperature if temperature is None else temperature,
        "max_tokens": settings.llm_max_tokens,
    }
    if streaming:
        generation["stream_options"] = {"include_usage": True}
    return timed(
        OpenAIChatGenerator(
            api_key=Secret.from_token(key),
            model=settings.llm_model,
            api_base_url=settings.llm_base_url,
            timeout=settings.llm_timeout,
            max_retries=max_retries,
            generation_kwargs=generation,
        ),
        OPENAI,
    )


def timed(generator: Any, backend: str) -> Any:
    """Counts and times each model call (callers, Haystack's Agent included, call ``generator.run``)."""
    run = generator.run

    @functools.wraps(run)  # keeps the signature the Agent inspects for ``tools``
    def timed_run(*args: Any, **kwargs: Any) -> Any:
        with metrics.llm_call(backend), tracing.span(f"llm.{backend}", kind="client"):
            return run(*args, **kwargs)

    generator.run = timed_run
    return generator
