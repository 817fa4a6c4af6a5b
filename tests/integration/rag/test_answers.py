"""Generative answers through Haystack's OpenAIChatGenerator against a scripted
OpenAI-compatible server (the only test double: the LLM's HTTP boundary)."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.llm import LlmSettings
from schema.rag import AskInput, IngestTextInput
from services.rag.access import Scope
from services.rag.answers import Answerer, answer_generator, renumber
from tests.support.fixtures.rag import drain, identity


class ScriptedChat:
    """Answers every chat completion with ``reply``; keeps the requests it saw."""

    def __init__(self) -> None:
        self.reply, self.requests = "", []
        chat = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                chat.requests.append(body)
                payload = json.dumps(
                    {
                        "id": "chatcmpl-1",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": chat.reply},
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def chat():
    server = ScriptedChat()
    yield server
    server.close()


def test_renumber_keeps_only_markers_of_given_passages():
    text, order = renumber("B is true [3]. A too [1][3]. Nonsense [9].", 3)
    assert text == "B is true [1]. A too [2][1]. Nonsense ." and order == [2, 0]


def test_generative_answer_cites_what_it_was_given(library, chat):
    alice = f"u-{uuid.uuid4().hex[:8]}"
    library.submission.ingest_text(
        identity(alice),
        IngestTextInput(
            title="tides.txt", text="Tides are caused by the gravity of the Moon. Spring tides follow a full moon."
        ),
    )
    library.submission.ingest_text(
        identity(alice),
        IngestTextInput(
            title="moon.txt", text="The Moon orbits the Earth every 27 days. Its gravity pulls on the oceans."
        ),
    )
    drain(library)
    answerer = Answerer(
        library.retriever,
        min_relevance=0.2,
        generator=answer_generator(
            LlmSettings(llm_base_url=chat.url, llm_model="scripted", llm_api_key="key", llm_timeout=10)
        ),
    )
    chat.reply = "The Moon's gravity causes tides [2]. An invented source [7]."
    answer = answerer.ask(Scope.of(identity(alice), library.catalog), "What causes tides?", top_k=3)

    assert answer.mode.value == "GENERATIVE" and answer.found
    assert answer.answer == "The Moon's gravity causes tides [1]. An invented source ."
    prompt = chat.requests[-1]["messages"][-1]["content"]
    second_passage = prompt.split("[2] (", 1)[1]
    assert answer.citations[0].title == second_passage.split(")", 1)[0]  # [1] is the passage the model cited
    assert len(answer.citations) == 1


def test_no_relevant_passage_means_no_llm_call_and_no_sources(library, chat):
    answerer = Answerer(
        library.retriever,
        min_relevance=0.99,
        generator=answer_generator(LlmSettings(llm_base_url=chat.url, llm_model="scripted", llm_timeout=10)),
    )
    answer = answerer.ask(
        Scope.of(identity(f"u-{uuid.uuid4().hex[:8]}"), library.catalog), "What causes tides?", top_k=3
    )
    assert not answer.found and answer.citations == [] and chat.requests == []


def test_answers_are_cached_per_scope_and_corpus(library):
    alice, bob = identity(f"u-{uuid.uuid4().hex[:8]}"), identity(f"u-{uuid.uuid4().hex[:8]}")
    library.submission.ingest_text(
        alice, IngestTextInput(title="kiwi.txt", text="Kiwi birds cannot fly. They live in New Zealand.")
    )
    drain(library)
    question = AskInput(question="Can kiwi birds fly?")
    first = library.reads.ask(alice, question)
    assert first.found
    assert not library.reads.ask(bob, question).found  # another scope never gets alice's cached answer
    library.submission.ingest_text(
        alice, IngestTextInput(title="kiwi.txt", text="Kiwi birds are flightless and nocturnal.")
    )
    drain(library)  # a changed corpus: the cached answer is not served
    assert "nocturnal" in " ".join(c.snippet for c in library.reads.ask(alice, question).citations)
