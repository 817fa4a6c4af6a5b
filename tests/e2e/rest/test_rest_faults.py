"""503 "<Auth|Agent|RAG> service unavailable": a service process of this test's own stack is stopped.

A stopped Nameko service leaves its queue behind, so a request waits there until the gateway's RPC
timeout (2 s here) ends it: the gateway answers 503, and the broker drops the expired request.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from tests.e2e.rest.conftest import STACK_TIMEOUT, STARTUP_SECONDS, bearer, login, new_username, register
from tests.support.gateway import gateway_settings
from tests.support.stack import Isolation, ServiceProcess, stop_all

pytestmark = pytest.mark.timeout(STACK_TIMEOUT)  # a first test also starts the stack


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory):
    isolation = Isolation(data_dir=tmp_path_factory.mktemp("rest-faults")).create()
    processes = {
        name: ServiceProcess(isolation, f"services.{name}.service", name, AGENTHUB_LLM_BACKEND="none")
        for name in ("auth", "agent", "rag")
    }
    try:
        for process in processes.values():
            process.wait_until_consuming(timeout=STARTUP_SECONDS)
        with TestClient(create_app(gateway_settings(isolation, rpc_timeout=2.0))) as client:
            username = new_username("faults")
            register(client, username)
            yield client, processes, login(client, username)["token"]
    finally:
        stop_all(list(processes.values()))
        isolation.destroy()


def test_health_reports_each_service(fault_stack):
    client, _, _ = fault_stack
    body = client.get("/health").json()
    assert body["status"] == "healthy" and body["service"] == "gateway" and body["version"]
    assert {name: s["status"] for name, s in body["services"].items()} == {
        "auth": "healthy",
        "agent": "healthy",
        "rag": "healthy",
    }
    assert client.get("/api/health").json()["status"] == "healthy"


def test_agent_down_is_503(fault_stack):
    client, processes, token = fault_stack
    processes["agent"].stop()
    response = client.post("/api/agent/query", headers=bearer(token), json={"user_request": "anyone there?"})
    assert response.status_code == 503
    assert response.json() == {"error": "Agent service unavailable"}
    body = client.get("/health").json()
    assert body["status"] == "unhealthy" and body["services"]["agent"]["status"] == "unhealthy"


def test_rag_down_is_503(fault_stack):
    client, processes, token = fault_stack
    response = client.post(
        "/api/rag/upload_with_progress", headers=bearer(token), files=[("files", ("a.txt", b"some text", "text/plain"))]
    )
    assert response.status_code == 200, response.text
    session_id = response.json()["session_id"]
    processes["rag"].stop()
    response = client.post("/api/rag/clear", headers=bearer(token), json={})
    assert response.status_code == 503
    assert response.json() == {"error": "RAG service unavailable"}
    response = client.get(f"/api/rag/upload_progress/{session_id}", headers=bearer(token))
    assert response.status_code == 503 and response.json() == {"error": "RAG service unavailable"}


def test_auth_down_is_503(fault_stack):
    client, processes, token = fault_stack
    processes["auth"].stop()
    response = client.post("/auth/login", json={"username": "someone", "password": "some passphrase"})
    assert response.status_code == 503
    assert response.json() == {"error": "Auth service unavailable"}
    response = client.post("/auth/register", json={"username": new_username(), "password": "some passphrase"})
    assert response.status_code == 503 and response.json() == {"error": "Auth service unavailable"}
    # tokens are verified at the edge: validating one needs no auth service
    assert client.post("/api/auth/validate", headers=bearer(token)).json()["valid"] is True
    # an API key does need it
    response = client.post("/api/auth/validate", headers={"X-API-Key": "ah_" + "k" * 40})
    assert response.status_code == 503 and response.json() == {"error": "Auth service unavailable"}
