"""The rag API through the gateway: GraphQL over HTTP (including a multipart upload)
and the ingestionProgress subscription over a WebSocket, against the run's stack."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.graphql.rag.download import DOWNLOAD_PATH
from tests.integration.rag.test_service_rpc import mint
from tests.support.gateway import error_code, gateway_settings, gql

JOB = "id status progress documentId chunkCount error"


@pytest.fixture(scope="module")
def client(isolation, stack):
    with TestClient(create_app(gateway_settings(isolation))) as client:
        yield client


def wait_done(client, token: str, job_id: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = gql(client, f"query($id: ID!) {{ ingestionJob(id: $id) {{ {JOB} }} }}", {"id": job_id}, token)
        job = job["data"]["ingestionJob"]
        if job["status"] in ("DONE", "FAILED", "CANCELLED"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def test_ingest_search_ask_and_delete_through_graphql(client):
    alice, bob = mint(f"alice-{uuid.uuid4().hex[:6]}"), mint(f"bob-{uuid.uuid4().hex[:6]}")
    body = gql(
        client,
        f"""mutation($input: IngestTextInput!) {{ ingestText(input: $input) {{ {JOB} }} }}""",
        {
            "input": {
                "title": "glaciers.txt",
                "metadata": {"kind": "note"},
                "text": "Glaciers carve valleys as they move. Moraines mark where a glacier stopped.",
            }
        },
        alice,
    )
    job = wait_done(client, alice, body["data"]["ingestText"]["id"])
    assert job["status"] == "DONE" and job["progress"] == 1
    document_id = job["documentId"]

    hits = gql(
        client,
        '{ search(query: "glacier valleys", topK: 3, filters: {kind: "note"}) { documentId title score content } }',
        token=alice,
    )["data"]["search"]
    assert hits[0]["documentId"] == document_id and hits[0]["title"] == "glaciers.txt"
    answer = gql(
        client,
        '{ ask(question: "What do moraines mark?") { answer mode found citations { documentId title snippet } } }',
        token=alice,
    )["data"]["ask"]
    assert answer["mode"] == "EXTRACTIVE" and answer["citations"][0]["documentId"] == document_id
    page = gql(
        client,
        "{ documents(first: 5) { totalCount nodes { id mimeType status metadata } "
        "pageInfo { hasNextPage endCursor } } }",
        token=alice,
    )["data"]["documents"]
    assert page["nodes"][0]["id"] == document_id and page["nodes"][0]["metadata"] == {"kind": "note"}

    not_yours = gql(client, "query($id: ID!) { document(id: $id) { id } }", {"id": document_id}, bob)
    assert error_code(not_yours) == "NOT_FOUND"
    assert gql(client, '{ search(query: "glacier valleys") { documentId } }', token=bob)["data"]["search"] == []

    deleted = gql(client, "mutation($id: ID!) { deleteDocument(id: $id) { id title } }", {"id": document_id}, alice)
    assert deleted["data"]["deleteDocument"]["id"] == document_id
    gone = gql(client, "query($id: ID!) { document(id: $id) { id } }", {"id": document_id}, alice)
    assert error_code(gone) == "NOT_FOUND"


def test_anonymous_and_bad_input(client):
    assert error_code(gql(client, '{ search(query: "x") { documentId } }')) == "UNAUTHENTICATED"
    body = gql(client, '{ search(query: "x", topK: 500) { documentId } }', token=mint(f"u-{uuid.uuid4().hex[:6]}"))
    assert error_code(body) == "BAD_USER_INPUT" and "topK" in body["errors"][0]["extensions"]["fields"]


def test_upload_documents_rejects_one_file_and_keeps_the_others(client):
    token = mint(f"uploader-{uuid.uuid4().hex[:6]}")
    operations = {
        "query": "mutation($files: [Upload!]!) { uploadDocuments(files: $files, collection: null) "
        f"{{ filename job {{ {JOB} }} }} }}",
        "variables": {"files": [None, None]},
    }
    response = client.post(
        "/graphql",
        headers={"authorization": f"Bearer {token}", "graphql-preflight": "1"},
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.files.0"], "1": ["variables.files.1"]}),
        },
        files={
            "0": ("notes — été.md", b"# Field notes\n\nHerons wade in shallow water.", "text/markdown"),
            "1": ("scan.pdf", b"not a pdf at all", "application/pdf"),
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    results = body["data"]["uploadDocuments"]
    assert [r["filename"] for r in results] == ["notes — été.md", "scan.pdf"]
    assert results[0]["job"]["status"] in ("QUEUED", "RUNNING", "DONE") and results[1]["job"] is None
    [error] = body["errors"]
    assert error["path"] == ["uploadDocuments", 1, "job"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["filename"] == "scan.pdf"
    done = wait_done(client, token, results[0]["job"]["id"])
    assert done["status"] == "DONE"

    path = DOWNLOAD_PATH.format(document_id=done["documentId"])
    response = client.get(path, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.content == b"# Field notes\n\nHerons wade in shallow water."
    assert (
        "attachment" in response.headers["content-disposition"]
        and "%C3%A9t%C3%A9" in response.headers["content-disposition"]
    )
    other = client.get(path, headers={"authorization": f"Bearer {mint(f'other-{uuid.uuid4().hex[:6]}')}"})
    assert other.status_code == 404 and other.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert client.get(path).status_code == 401


def test_ingestion_progress_subscription_ends_with_done(client):
    token = mint(f"watcher-{uuid.uuid4().hex[:6]}")
    job = gql(
        client,
        f'mutation {{ ingestText(input: {{title: "w.txt", text: "Wombats dig burrows."}}) {{ {JOB} }} }}',
        token=token,
    )["data"]["ingestText"]
    seen = []
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {
                    "query": f"subscription($id: ID!) {{ ingestionProgress(jobId: $id) {{ {JOB} }} }}",
                    "variables": {"id": job["id"]},
                },
            }
        )
        while True:
            message = ws.receive_json()
            if message["type"] == "complete":
                break
            assert message["type"] == "next", message
            seen.append(message["payload"]["data"]["ingestionProgress"])
    assert seen[-1]["status"] == "DONE" and seen[-1]["documentId"]
    assert [s["progress"] for s in seen] == sorted(s["progress"] for s in seen)


def test_too_many_files_in_one_request_is_bad_input(client):
    count = client.app.state.settings.rag_max_files + 1
    operations = {
        "query": "mutation($files: [Upload!]!) { uploadDocuments(files: $files) { filename } }",
        "variables": {"files": [None] * count},
    }
    response = client.post(
        "/graphql",
        headers={"authorization": f"Bearer {mint(f'many-{uuid.uuid4().hex[:6]}')}", "graphql-preflight": "1"},
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({str(i): [f"variables.files.{i}"] for i in range(count)}),
        },
        files={str(i): (f"f{i}.txt", b"tiny text.", "text/plain") for i in range(count)},
    )
    body = response.json()
    assert error_code(body) == "BAD_USER_INPUT" and "files" in body["errors"][0]["extensions"]["fields"]


def test_more_files_per_request_when_the_setting_allows_them(isolation, stack):
    """AGENTHUB_RAG_MAX_FILES above 20 takes effect (the edge's own bound on the list was 20 as well)."""
    settings = gateway_settings(isolation, rag_max_files=30)
    count = settings.rag_max_files + 1
    operations = {
        "query": "mutation($files: [Upload!]!) { uploadDocuments(files: $files) { filename } }",
        "variables": {"files": [None] * count},
    }
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/graphql",
            headers={"authorization": f"Bearer {mint(f'lots-{uuid.uuid4().hex[:6]}')}", "graphql-preflight": "1"},
            data={
                "operations": json.dumps(operations),
                "map": json.dumps({str(i): [f"variables.files.{i}"] for i in range(count)}),
            },
            files={str(i): (f"f{i}.txt", b"tiny text.", "text/plain") for i in range(count)},
        )
    assert response.json()["errors"][0]["extensions"]["fields"] == {"files": "at most 30 files per request"}


def test_multipart_without_a_preflight_header_is_refused(client):
    """CSRF: a cross-site form can send multipart, but never a custom header (even with a credential;
    without one the edge refuses it first, tests/integration/security/test_edge_limits.py)."""
    token = mint(f"csrf-{uuid.uuid4().hex[:6]}")
    response = client.post(
        "/graphql",
        headers={"authorization": f"Bearer {token}"},
        data={
            "operations": '{"query": "mutation($f: [Upload!]!) { uploadDocuments(files: $f) { id } }", '
            '"variables": {"f": [null]}}',
            "map": '{"0": ["variables.f.0"]}',
        },
        files={"0": ("a.txt", b"hello", "text/plain")},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_cancel_ingestion_job_through_graphql(client):
    alice, bob = mint(f"alice-{uuid.uuid4().hex[:6]}"), mint(f"bob-{uuid.uuid4().hex[:6]}")
    text = " ".join(f"Sentence {n} is about the tides of a quiet harbour town." for n in range(3000))
    job = gql(
        client,
        f"""mutation($input: IngestTextInput!) {{ ingestText(input: $input) {{ {JOB} }} }}""",
        {"input": {"title": "tides.txt", "text": text}},
        alice,
    )["data"]["ingestText"]
    cancel = "mutation($id: ID!) { cancelIngestionJob(id: $id) { id status errorCode } }"
    assert error_code(gql(client, cancel, {"id": job["id"]}, bob)) == "NOT_FOUND"
    cancelled = gql(client, cancel, {"id": job["id"]}, alice)["data"]["cancelIngestionJob"]
    assert cancelled["id"] == job["id"] and cancelled["status"] in ("CANCELLED", "RUNNING", "DONE")
    deadline = time.monotonic() + 60
    while cancelled["status"] == "RUNNING":
        assert time.monotonic() < deadline, cancelled
        time.sleep(0.2)
        cancelled = gql(
            client, "query($id: ID!) { ingestionJob(id: $id) { id status errorCode } }", {"id": job["id"]}, alice
        )["data"]["ingestionJob"]
    if cancelled["status"] == "CANCELLED":  # it may have finished first on a fast machine
        assert cancelled["errorCode"] == "CANCELLED"


def test_a_waiting_jobs_subscription_reads_it_again_only_when_it_changes(client):
    """A job queued behind its owner's running one (one at a time per user) does not change while
    it waits, and its subscription does not read it over RPC meanwhile: rag bumps the job's version
    in Redis on each change and the gateway watches the versions (gateway/graphql/rag/watch.py)."""
    from gateway.graphql.rag.subscriptions import FALLBACK_SECONDS
    from tests.integration.rag.test_jobs_rpc import text_of

    token = mint(f"waiter-{uuid.uuid4().hex[:6]}")
    ingest = "mutation($t: String!, $x: String!) { ingestText(input: {title: $t, text: $x}) { id } }"
    first = gql(client, ingest, {"t": "long.txt", "x": text_of(600_000, seed=11)}, token)["data"]["ingestText"]
    second = gql(client, ingest, {"t": "short.txt", "x": "Wombats sleep by day."}, token)["data"]["ingestText"]
    rpc, reads = client.app.state.rpc, []

    async def counting(service, method, *args, **kwargs):
        if method == "job":
            reads.append(time.monotonic())
        return await type(rpc).call(rpc, service, method, *args, **kwargs)

    rpc.call = counting
    seen, started = [], time.monotonic()
    try:
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
            assert ws.receive_json()["type"] == "connection_ack"
            query = f"subscription($id: ID!) {{ ingestionProgress(jobId: $id) {{ {JOB} }} }}"
            ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": second}})
            while (message := ws.receive_json())["type"] != "complete":
                seen.append(message["payload"]["data"]["ingestionProgress"])
    finally:
        del rpc.call
    waited = time.monotonic() - started
    assert seen[0]["status"] == "QUEUED" and seen[-1]["status"] == "DONE"
    assert waited > 2, f"the first job ended too soon ({waited:.1f} s) to tell"  # polling: 2 reads a second
    assert len(reads) <= len(seen) + 2 + waited / FALLBACK_SECONDS, (len(reads), len(seen), waited)
    assert wait_done(client, token, first["id"])["status"] == "DONE"
