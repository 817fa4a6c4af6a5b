"""Every error row of the old REST contract, against a started stack."""

from __future__ import annotations

import time
import uuid

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from tests.e2e.rest.conftest import PASSWORD, STACK_TIMEOUT, bearer, login, new_user, new_username, register, set_role
from tests.support.accounts import PASSPHRASE, create_admin
from tests.support.gateway import gateway_settings

pytestmark = pytest.mark.timeout(STACK_TIMEOUT)  # a first test also starts the stack

PROTECTED = [
    ("POST", "/auth/validate", None),
    ("POST", "/api/auth/validate", None),
    ("POST", "/api/agent/query", {"user_request": "hi"}),
    ("POST", "/api/rag/query", {"query": "q"}),
    ("POST", "/api/rag/retrieve", {"query": "q"}),
    ("POST", "/api/rag/lookup", {"query": "q"}),
    ("POST", "/api/rag/ingest", {"file_paths": ["handbook.md"]}),
    ("POST", "/api/rag/upload", None),
    ("POST", "/api/rag/upload_with_progress", None),
    ("GET", "/api/rag/upload_progress/abc", None),
    ("POST", "/api/rag/clear", {}),
    ("POST", "/api/rag/cancel_upload/abc", None),
    ("GET", "/api/rag/jobs/abc", None),
    ("POST", "/api/rag/jobs/abc/cancel", None),
]


def send(client, method, path, body, headers=None):
    return client.request(method, path, json=body, headers=headers or {})


@pytest.mark.parametrize("method,path,body", PROTECTED)
def test_no_token_is_401_token_missing(rest, method, path, body):
    response = send(rest, method, path, body)
    assert response.status_code == 401
    assert response.json() == {"message": "Token is missing!"}


@pytest.mark.parametrize("method,path,body", PROTECTED)
def test_bad_token_is_401_invalid(rest, method, path, body):
    for header in ("Bearer not.a.token", "not-a-token", "Bearer ah_not_a_key"):
        response = send(rest, method, path, body, {"Authorization": header})
        assert response.status_code == 401, (header, response.text)
        assert response.json() == {"message": "Token is invalid or expired!"}


def test_expired_token_is_401_invalid(rest, rest_settings):
    from core.tokens import TokenCodec

    expired = TokenCodec(rest_settings).issue(subject=str(uuid.uuid4()), role="user", session_id="s", ttl=-60).token
    response = rest.post("/api/rag/query", json={"query": "x"}, headers=bearer(expired))
    assert response.status_code == 401 and response.json() == {"message": "Token is invalid or expired!"}


def test_logged_out_token_is_401_invalid(rest):
    token = new_user(rest)
    assert rest.post("/api/auth/validate", headers=bearer(token)).status_code == 200
    body = rest.post("/graphql", json={"query": "mutation { logout }"}, headers=bearer(token)).json()
    assert body["data"]["logout"] is True
    response = rest.post("/api/auth/validate", headers=bearer(token))
    assert response.status_code == 401 and response.json() == {"message": "Token is invalid or expired!"}


@pytest.fixture(scope="module")
def guest(rest, rest_isolation):
    admin = new_username("admin")
    create_admin(rest_isolation, admin)
    admin_token = login(rest, admin, PASSPHRASE)["token"]
    username = new_username("guest")
    register(rest, username)
    set_role(rest, admin_token, login(rest, username)["user_info"]["user_id"], "guest")
    return login(rest, username)


GUEST_DENIED = [
    ("POST", "/api/agent/query", {"user_request": "hi"}),
    ("POST", "/api/rag/query", {"query": "q"}),
    ("POST", "/api/rag/retrieve", {"query": "q"}),
    ("POST", "/api/rag/lookup", {"query": "q"}),
    ("POST", "/api/rag/ingest", {"file_paths": ["handbook.md"]}),
    ("POST", "/api/rag/clear", {}),
    ("GET", "/api/rag/upload_progress/abc", None),
    ("POST", "/api/rag/cancel_upload/abc", None),
    ("GET", "/api/rag/jobs/abc", None),
    ("POST", "/api/rag/jobs/abc/cancel", None),
]


@pytest.mark.parametrize("method,path,body", GUEST_DENIED)
def test_missing_permission_is_403(rest, guest, method, path, body):
    assert guest["user_info"]["role"] == "guest" and guest["user_info"]["permissions"] == [
        "manage:account",
        "read:agent",
    ]
    response = send(rest, method, path, body, bearer(guest["token"]))
    assert response.status_code == 403
    assert response.json() == {"message": "Insufficient permissions!"}


def test_403_is_audited(rest, guest, rest_isolation):
    admin = new_username("auditor")
    create_admin(rest_isolation, admin)
    admin_token = login(rest, admin, PASSPHRASE)["token"]
    assert rest.post("/api/rag/clear", json={}, headers=bearer(guest["token"])).status_code == 403
    query = (
        'query($actor: String) { auditLog(filter: {action: "permission_denied", actor: $actor}, first: 50) '
        "{ nodes { resource detail outcome } } }"
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the audit event reaches auth's log asynchronously
        body = rest.post(
            "/graphql",
            json={"query": query, "variables": {"actor": guest["user_info"]["user_id"]}},
            headers=bearer(admin_token),
        ).json()
        nodes = body["data"]["auditLog"]["nodes"]
        if any(n["resource"] == "rest:clear" for n in nodes):
            break
        time.sleep(0.2)
    assert any(
        n["resource"] == "rest:clear" and n["detail"] == {"permission": "write:rag"} and n["outcome"] == "denied"
        for n in nodes
    ), nodes


def test_multipart_without_a_token_is_refused_before_the_body_is_read(rest):
    response = rest.post("/api/rag/upload", files=[("files", ("a.txt", b"x" * 1000, "text/plain"))])
    assert response.status_code == 401 and response.json() == {"message": "Token is missing!"}


def test_rate_limit_is_429_with_retry_after(rest_stack, rest_isolation):
    with TestClient(create_app(gateway_settings(rest_isolation, rate_limit_authenticated="3/minute"))) as client:
        token = new_user(client)  # register and login are anonymous: they don't count against the user
        codes = [client.post("/api/auth/validate", headers=bearer(token)).status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        response = client.post("/api/rag/query", headers=bearer(token), json={"query": "q"})
        assert response.status_code == 429
        assert set(response.json()) == {"message"} and "retry" in response.json()["message"].lower()
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        # one budget with GraphQL: the GraphQL operation is refused too
        body = client.post("/graphql", json={"query": "{ me { id } }"}, headers=bearer(token)).json()
        assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


def test_anonymous_rate_limit_is_429(rest_stack, rest_isolation):
    settings = gateway_settings(rest_isolation, rate_limit_anonymous="2/minute")
    address = (f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7", 5000)
    with TestClient(create_app(settings), client=address) as client:
        codes = [
            client.post("/auth/login", json={"username": "nobody_here", "password": "x" * 8}).status_code
            for _ in range(3)
        ]
        assert codes == [401, 401, 429]
        response = client.get("/health")
        assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1


# ---------------------------------------------------------------- validation: "message" on auth, "error" elsewhere


@pytest.mark.parametrize(
    "body,field",
    [
        ({"username": "ab", "password": PASSWORD}, "username"),
        ({"username": "long_enough", "password": "short"}, "password"),
        ({"username": "x" * 51, "password": PASSWORD}, "username"),
        ({"username": "long_enough", "password": "p" * 129}, "password"),
        ({"password": PASSWORD}, "username"),
    ],
)
def test_register_validation_is_400_message(rest, body, field):
    response = rest.post("/auth/register", json=body)
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert set(response.json()) == {"message"}
    assert message.startswith("Validation error: ") and field in message


def test_register_taken_and_login_wrong(rest):
    username = new_username("taken")
    register(rest, username)
    response = rest.post("/auth/register", json={"username": username, "password": PASSWORD})
    assert response.status_code == 400 and response.json() == {"message": "Username already exists!"}
    response = rest.post("/auth/login", json={"username": username, "password": "wrong passphrase"})
    assert response.status_code == 401 and response.json() == {"message": "Invalid credentials!"}
    response = rest.post("/auth/login", json={"username": username})
    assert response.status_code == 400 and response.json()["message"].startswith("Validation error: password")


def test_invalid_json_is_400(rest):
    response = rest.post("/auth/login", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json() == {"message": "Validation error: body: is not valid JSON"}


@pytest.fixture(scope="module")
def member(rest):
    return new_user(rest, "member")


@pytest.mark.parametrize(
    "path,body,field",
    [
        ("/api/agent/query", {"user_request": ""}, "user_request"),
        ("/api/agent/query", {"user_request": "x" * 2001}, "user_request"),
        ("/api/rag/query", {"query": ""}, "query"),
        ("/api/rag/query", {"query": "x" * 1001}, "query"),
        ("/api/rag/retrieve", {"query": "q", "top_k": 0}, "top_k"),
        ("/api/rag/retrieve", {"query": "q", "top_k": 101}, "top_k"),
        ("/api/rag/lookup", {}, "query"),
        ("/api/rag/ingest", {"file_paths": []}, "file_paths"),
        ("/api/rag/ingest", {"file_paths": ["a.txt"] * 51}, "file_paths"),
    ],
)
def test_agent_and_rag_validation_is_400_error(rest, member, path, body, field):
    response = rest.post(path, json=body, headers=bearer(member))
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}
    assert response.json()["error"].startswith("Validation error: ") and field in response.json()["error"]


def test_upload_validation(rest, member):
    headers = bearer(member)
    response = rest.post("/api/rag/upload", headers=headers, files=[("files", ("tool.exe", b"MZ", "application/x"))])
    assert response.status_code == 400 and "tool.exe" in response.json()["error"]
    eleven = [("files", (f"f{i}.txt", b"text", "text/plain")) for i in range(11)]
    response = rest.post("/api/rag/upload_with_progress", headers=headers, files=eleven)
    assert response.status_code == 400 and response.json()["error"].startswith("Validation error: files")
    response = rest.post("/api/rag/upload", headers=headers, json={"files": []})
    assert response.status_code == 400 and response.json()["error"].startswith("Validation error: files")


def test_unknown_progress_session_is_404(rest, member):
    for session_id in ("0" * 32, "not-hex!", "x" * 65):
        response = rest.get(f"/api/rag/upload_progress/{session_id}", headers=bearer(member))
        assert response.status_code == 404 and response.json() == {"error": "Session not found"}
        response = rest.post(f"/api/rag/cancel_upload/{session_id}", headers=bearer(member))
        assert response.status_code == 404 and response.json() == {"error": "Session not found"}


def test_unknown_job_is_404(rest, member):
    for job_id in (str(uuid.uuid4()), "not-an-id", "x" * 65):
        for method, path in (("GET", f"/api/rag/jobs/{job_id}"), ("POST", f"/api/rag/jobs/{job_id}/cancel")):
            response = rest.request(method, path, headers=bearer(member))
            assert response.status_code == 404 and response.json() == {"error": "Ingestion job not found."}, path


# ---------------------------------------------------------------- the import directory


@pytest.mark.parametrize(
    "path,why",
    [
        ("../outside.txt", "must not contain '..'"),
        ("teams/../../x.txt", "must not contain '..'"),
        ("/etc/passwd", "is outside the import directory"),
        ("escape.txt", "is outside the import directory"),
        ("escape-dir/secret.txt", "is outside the import directory"),
        ("missing.txt", "does not exist"),
        ("teams", "is not a file"),
    ],
)
def test_ingest_never_leaves_the_import_directory(rest, member, path, why):
    response = rest.post("/api/rag/ingest", headers=bearer(member), json={"file_paths": ["handbook.md", path]})
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith("Validation error: file_paths.1: ") and why in response.json()["error"]
    # nothing was ingested: not even the acceptable path
    documents = rest.post("/graphql", json={"query": "{ documents { totalCount } }"}, headers=bearer(member)).json()
    assert documents["data"]["documents"]["totalCount"] == 0


def test_ingest_without_an_import_directory_is_400(rest_stack, rest_isolation, member):
    with TestClient(create_app(gateway_settings(rest_isolation, import_dir=None))) as client:
        response = client.post("/api/rag/ingest", headers=bearer(member), json={"file_paths": ["handbook.md"]})
    assert response.status_code == 400
    assert "AGENTHUB_IMPORT_DIR" in response.json()["error"]


# ---------------------------------------------------------------- body limit


def test_body_over_the_limit_is_413(rest, member):
    response = rest.post(
        "/api/rag/query",
        headers={**bearer(member), "content-type": "application/json"},
        content=b'{"query": "' + b"x" * (2 * 1024 * 1024) + b'"}',
    )
    assert response.status_code == 413

    def chunks():  # no Content-Length: the streamed count decides
        for _ in range(40):
            yield b" " * 65536

    response = rest.post("/auth/login", headers={"content-type": "application/json"}, content=chunks())
    assert response.status_code == 413
