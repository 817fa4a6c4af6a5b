"""A stack of its own for the REST tests: auth, rag (extractive answers) and an agent whose model is the
scripted OpenAI-compatible server (tests/support/scripted_llm.py) with the sample shop database as its SQL
tool; and the gateway in process, with an import directory for /api/rag/ingest."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from tests.support.gateway import gateway_settings, gql
from tests.support.scripted_llm import ScriptedLLM
from tests.support.stack import ROOT, Isolation, ServiceProcess, stop_all

SAMPLE_DB = ROOT / "services" / "agent" / "sample" / "shop.db"
PASSWORD = "rest client passphrase"
STARTUP_SECONDS = 240  # a loaded 2-core machine takes minutes to import haystack and torch
STACK_TIMEOUT = 3 * STARTUP_SECONDS  # per test: the first one also waits for the stack (processes start in parallel)


@pytest.fixture(scope="session")
def rest_llm() -> ScriptedLLM:
    server = ScriptedLLM().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def rest_isolation(tmp_path_factory) -> Isolation:
    isolation = Isolation(data_dir=tmp_path_factory.mktemp("rest-stack")).create()
    yield isolation
    isolation.destroy()


def agent_env(llm: ScriptedLLM, sql_path: Path) -> dict[str, str]:
    return dict(
        AGENTHUB_LLM_BACKEND="openai",
        AGENTHUB_LLM_BASE_URL=llm.base_url,
        AGENTHUB_LLM_MODEL="scripted",
        AGENTHUB_LLM_TIMEOUT="10",
        AGENTHUB_AGENT_MAX_STEPS="4",
        AGENTHUB_AGENT_RUN_TIMEOUT="30",
        AGENTHUB_AGENT_TOOL_TIMEOUT="10",
        AGENTHUB_SQL_URL=f"sqlite:///{sql_path}",
        AGENTHUB_ROLE_GRANTS='{"user": ["query:sql"]}',
    )  # granted, not default


@pytest.fixture(scope="session")
def rest_stack(rest_isolation, rest_llm, tmp_path_factory):
    sql_path = tmp_path_factory.mktemp("rest-sql") / "shop.db"
    shutil.copy(SAMPLE_DB, sql_path)
    processes = [
        ServiceProcess(rest_isolation, "services.auth.service", "auth"),
        ServiceProcess(rest_isolation, "services.rag.service", "rag", AGENTHUB_LLM_BACKEND="none"),
        ServiceProcess(rest_isolation, "services.agent.service", "agent", **agent_env(rest_llm, sql_path)),
    ]
    try:
        for process in processes:
            process.wait_until_consuming(timeout=STARTUP_SECONDS)
        yield processes
    finally:
        stop_all(processes)


@pytest.fixture(scope="session")
def import_dir(tmp_path_factory) -> Path:
    """The administrator's import directory, with a file, a subfolder, and a way out (a symlink) to refuse."""
    root = tmp_path_factory.mktemp("imports")
    (root / "handbook.md").write_text(
        "# Handbook\n\nThe quarterly bonus of the tundra office is paid in "
        "reindeer vouchers. Vouchers expire after ninety days.\n"
    )
    (root / "teams").mkdir()
    (root / "teams" / "glacier.txt").write_text(
        "The glacier team meets every Thursday at the ice cave. Their mascot is a walrus called Bernadette.\n"
    )
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.txt").write_text("outside the import directory: never ingested\n")
    (root / "escape.txt").symlink_to(outside / "secret.txt")
    (root / "escape-dir").symlink_to(outside, target_is_directory=True)
    return root


@pytest.fixture(scope="session")
def rest_settings(rest_isolation, import_dir):
    return gateway_settings(rest_isolation, import_dir=import_dir)


@pytest.fixture(scope="session")
def rest(rest_stack, rest_settings):
    with TestClient(create_app(rest_settings)) as client:
        yield client


def new_username(tag: str = "user") -> str:
    return f"{tag}_{uuid.uuid4().hex[:10]}"


def register(client, username: str, password: str = PASSWORD) -> None:
    response = client.post("/auth/register", json={"username": username, "password": password})
    assert response.status_code == 201, response.text


def login(client, username: str, password: str = PASSWORD) -> dict:
    response = client.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def new_user(client, tag: str = "user") -> str:
    """A freshly registered user's token."""
    username = new_username(tag)
    register(client, username)
    return login(client, username)["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def set_role(client, admin_token: str, user_id: str, role: str) -> None:
    body = gql(
        client,
        "mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { role } }",
        {"id": user_id, "role": role.upper()},
        token=admin_token,
    )
    assert body.get("data", {}).get("setUserRole", {}).get("role") == role.upper(), body


def wait_for_progress(client, token: str, session_id: str, timeout: float = 120.0) -> list[dict]:
    """Polls like the web client until progress reaches 100; returns every answer seen."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(f"/api/rag/upload_progress/{session_id}", headers=bearer(token))
        assert response.status_code == 200, response.text
        seen.append(response.json())
        if seen[-1]["progress"] == 100:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"upload did not finish: {seen[-1:]}")
