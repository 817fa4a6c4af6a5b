"""A user never sees another user's documents, upload sessions or progress through REST."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.rest.conftest import STACK_TIMEOUT, bearer, login, new_user, new_username, wait_for_progress
from tests.support.accounts import PASSPHRASE, create_admin
from tests.support.gateway import gql

pytestmark = pytest.mark.timeout(STACK_TIMEOUT)  # a first test also starts the stack


def test_users_are_kept_apart(rest):
    alice, bob = new_user(rest, "alice"), new_user(rest, "bob")
    word = f"zq{uuid.uuid4().hex[:8]}"
    text = f"Alice's private note: the vault code word is {word} and nobody else may read it.\n".encode()
    started = rest.post(
        "/api/rag/upload_with_progress",
        headers=bearer(alice),
        files=[("files", ("alice-private.txt", text, "text/plain"))],
    ).json()
    assert wait_for_progress(rest, alice, started["session_id"])[-1]["status"] == "completed"

    # documents: Bob's search, lookup and answers never contain Alice's text
    for path, body in (
        ("/api/rag/retrieve", {"query": f"vault code word {word}", "top_k": 50}),
        ("/api/rag/lookup", {"query": word}),
    ):
        response = rest.post(path, headers=bearer(bob), json=body)
        assert response.status_code == 200 and all(word not in d["content"] for d in response.json()["documents"])
    response = rest.post("/api/rag/query", headers=bearer(bob), json={"query": f"What is the vault code word {word}?"})
    assert response.status_code == 200 and word not in str(response.json())
    # ...while Alice finds it
    response = rest.post("/api/rag/lookup", headers=bearer(alice), json={"query": word})
    assert any(word in d["content"] for d in response.json()["documents"])

    # sessions and progress: Bob's poll of Alice's session is exactly "not found"
    response = rest.get(f"/api/rag/upload_progress/{started['session_id']}", headers=bearer(bob))
    assert response.status_code == 404 and response.json() == {"error": "Session not found"}
    # ...and so are his cancel of it, and his reads and cancels of its job
    response = rest.post(f"/api/rag/cancel_upload/{started['session_id']}", headers=bearer(bob))
    assert response.status_code == 404 and response.json() == {"error": "Session not found"}
    progress = rest.get(f"/api/rag/upload_progress/{started['session_id']}", headers=bearer(alice)).json()
    job_id = progress["results"]["alice-private.txt"]["job_id"]
    for method, path in (("GET", f"/api/rag/jobs/{job_id}"), ("POST", f"/api/rag/jobs/{job_id}/cancel")):
        response = rest.request(method, path, headers=bearer(bob))
        assert response.status_code == 404 and response.json() == {"error": "Ingestion job not found."}
    # Alice reads her job as GraphQL does; cancelling it once ingested leaves it as it is (the declaration's rule)
    job = rest.get(f"/api/rag/jobs/{job_id}", headers=bearer(alice))
    assert job.status_code == 200 and job.json()["status"] == "DONE" and job.json()["document_id"]
    graphql = gql(
        rest,
        "query($id: ID!) { ingestionJob(id: $id) { id status documentId chunkCount } }",
        {"id": job_id},
        token=alice,
    )["data"]["ingestionJob"]
    assert (graphql["id"], graphql["status"], graphql["documentId"], graphql["chunkCount"]) == (
        job.json()["id"],
        "DONE",
        job.json()["document_id"],
        job.json()["chunk_count"],
    )
    response = rest.post(f"/api/rag/jobs/{job_id}/cancel", headers=bearer(alice))
    assert response.status_code == 200 and response.json() == job.json()
    response = rest.post(f"/api/rag/cancel_upload/{started['session_id']}", headers=bearer(alice))
    assert response.status_code == 200 and response.json() == progress

    # clear: Bob's clears only Bob's; Alice's document is still there
    assert rest.post("/api/rag/clear", headers=bearer(bob), json={}).json() == {
        "message": "All documents cleared successfully"
    }
    response = rest.post("/api/rag/lookup", headers=bearer(alice), json={"query": word})
    assert any(word in d["content"] for d in response.json()["documents"])

    # and Alice's clear removes it
    response = rest.post("/api/rag/clear", headers=bearer(alice), json={})
    assert response.status_code == 200 and response.json() == {"message": "All documents cleared successfully"}
    response = rest.post("/api/rag/lookup", headers=bearer(alice), json={"query": word})
    assert all(word not in d["content"] for d in response.json()["documents"])


def test_sync_upload_answers_when_ingested(rest):
    token = new_user(rest, "sync")
    word = f"qx{uuid.uuid4().hex[:8]}"
    response = rest.post(
        "/api/rag/upload",
        headers=bearer(token),
        files=[
            ("files", ("one.txt", f"The first file mentions {word} once.\n".encode(), "text/plain")),
            ("files", ("two.html", b"<html><body><p>The second file is about otters.</p></body></html>", "text/html")),
        ],
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "2 document(s) uploaded and ingested successfully", "file_count": 2}
    # already searchable: the jobs had ended
    response = rest.post("/api/rag/lookup", headers=bearer(token), json={"query": word})
    assert any(word in d["content"] for d in response.json()["documents"])


def test_an_admin_may_cancel_anyones_job(rest, rest_isolation):
    """cancelIngestionJob's rule, through REST: the owner or an admin (write:rag alone is not enough: see above)."""
    owner = new_user(rest, "owner")
    response = rest.post(
        "/api/rag/upload_with_progress",
        headers=bearer(owner),
        files=[("files", ("note.txt", b"A note about kestrels and their nests.\n", "text/plain"))],
    )
    session_id = response.json()["session_id"]
    job_id = wait_for_progress(rest, owner, session_id)[-1]["results"]["note.txt"]["job_id"]
    admin = new_username("admin")
    create_admin(rest_isolation, admin)
    admin_token = login(rest, admin, PASSPHRASE)["token"]
    response = rest.post(f"/api/rag/jobs/{job_id}/cancel", headers=bearer(admin_token))
    assert response.status_code == 200 and response.json()["id"] == job_id and response.json()["status"] == "DONE"
    # an upload session stays its owner's alone, admins included
    response = rest.post(f"/api/rag/cancel_upload/{session_id}", headers=bearer(admin_token))
    assert response.status_code == 404 and response.json() == {"error": "Session not found"}
