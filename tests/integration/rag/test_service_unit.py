"""``RagService`` as a class, through Nameko's ``worker_factory``: no broker, no ``nameko run``.

The caller is the real ``Caller`` with real tokens on the real Redis (``tests/support/callers.py``);
the library is the real domain of ``tests/support/fixtures/rag.py`` (SQLite, the embedded store, the
model), or a ``MagicMock`` where a test is about the boundary itself. The audit dispatcher is
``worker_factory``'s ``MagicMock``, so the events an entrypoint sends can be read back. The same
class over AMQP is ``test_service_rpc.py``.
"""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from nameko.testing.services import worker_factory

from schema import rag
from schema.errors import BadUserInput, Forbidden, NotFound, Unauthenticated
from schema.models import Outcome
from schema.permissions import Permission
from services.rag.service import RagService
from tests.support.callers import Callers
from tests.support.fixtures.rag import drain

TIDES = "The tide rises twice a day. The moon pulls the sea towards it. Spring tides follow a full moon."


@pytest.fixture(scope="module")
def callers():
    callers = Callers.open()
    yield callers
    callers.close()


def rag_service(caller, library) -> RagService:
    return worker_factory(RagService, caller=caller, library=library)


def test_a_role_without_the_permission_is_refused_before_anything_is_read(callers):
    library = MagicMock()
    with pytest.raises(Forbidden):  # guests read, never write
        rag_service(callers.user("guest"), library).ingest_text(title="t.txt", text="")
    with pytest.raises(Forbidden):  # an API key holds only its scopes, even an admin's
        rag_service(callers.user("admin", scopes=[Permission.WRITE_RAG]), library).search(query="tides")
    with pytest.raises(Unauthenticated):
        rag_service(callers.anonymous(), library).collections()
    assert library.mock_calls == []


def test_the_input_is_parsed_and_defaults_come_from_the_model(callers):
    library = MagicMock()
    library.reads.ask.return_value = rag.Answer(answer="No.", mode=rag.AnswerMode.EXTRACTIVE, found=False, citations=[])
    service = rag_service(callers.user("user"), library)
    assert service.ask("Why?", None, None) == {"answer": "No.", "mode": "EXTRACTIVE", "found": False, "citations": []}
    identity, data = library.reads.ask.call_args.args
    assert identity.user_id == service.caller.identity().user_id
    assert data == rag.AskInput(question="Why?")  # positional as on the wire; null is the default top_k
    with pytest.raises(BadUserInput) as raised:
        service.search(query="", top_k=500, mode="FUZZY")
    assert set(raised.value.details["fields"]) == {"query", "topK", "mode"}
    with pytest.raises(BadUserInput) as raised:
        service.ingest_text(title="a\u202eb.txt", text="x", metadata={"bad key": 1})
    assert set(raised.value.details["fields"]) == {"title", "metadata"}
    library.reads.search.assert_not_called()
    library.submission.ingest_text.assert_not_called()


def test_an_impossible_id_is_not_found_like_an_unknown_one(callers):
    service = rag_service(callers.user("user"), MagicMock())
    for bad in (None, "", "x" * 65, 42):
        with pytest.raises(NotFound) as raised:
            service.job(job_id=bad)
        assert raised.value.details == {"resource": "job"}
    with pytest.raises(NotFound):
        service.download("")


def test_replies_are_the_declared_outputs_as_json(callers, library):
    service = rag_service(callers.user("user"), library)
    job = service.ingest_text(title="tides.txt", text=TIDES, metadata={"topic": "sea"})
    assert job["status"] == "QUEUED" and isinstance(job["id"], str)
    drain(library)
    job = service.job(job["id"])
    assert job["status"] == "DONE" and job["document_id"]
    document = service.document(job["document_id"])
    assert document["metadata"] == {"topic": "sea"} and isinstance(document["created_at"], str)
    hits = service.search("moon and tides", filters={"topic": "sea"})
    assert hits[0]["document_id"] == job["document_id"] and set(hits[0]) == set(rag.SearchHit.model_fields)
    page = service.documents(first=1)
    assert page["total_count"] >= 1 and page["items"][0]["id"] == job["document_id"]
    assert all(isinstance(c["created_at"], str) for c in service.collections())


def test_actions_are_audited_and_refusals_too(callers, library):
    owner, stranger = callers.user("user"), callers.user("user")
    service = rag_service(owner, library)
    collection = service.create_collection("harbour", "PUBLIC")
    service.audit.assert_called_once_with(
        "collection.create",
        resource=f"collection:{collection['id']}",
        identity=owner.identity(),
        detail={"visibility": "PUBLIC"},
    )
    job = service.ingest_text(title="harbour.txt", text=TIDES, collection=collection["id"])
    drain(library)
    document_id = service.job(job["id"])["document_id"]

    other = rag_service(stranger, library)
    with pytest.raises(Forbidden):  # a PUBLIC collection's reader may read, not delete
        other.delete_document(document_id)
    other.audit.assert_called_once_with(
        "document.delete", outcome=Outcome.DENIED, resource=f"document:{document_id}", identity=stranger.identity()
    )
    deleted = service.delete_document(document_id)
    assert deleted["id"] == document_id
    assert service.audit.call_args.args == ("document.delete",)
