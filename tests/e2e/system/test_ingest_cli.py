"""`agenthub ingest` uploads a folder through a real gateway and follows the jobs."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.stack import ROOT

PASSWORD = "ingest cli passphrase"


def call(url: str, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.post(
        f"{url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers, timeout=30
    ).json()


@pytest.fixture(scope="module")
def gateway(isolation, stack):
    process = GatewayProcess(isolation).wait_ready()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def api_key(gateway) -> str:
    name = f"ingest_{uuid.uuid4().hex[:8]}"
    register = "mutation($i: RegisterInput!) { register(input: $i) { id } }"
    registered = call(gateway.url, register, {"i": {"username": name, "password": PASSWORD}})
    limited = (registered.get("errors") or [{}])[0].get("extensions", {})
    if limited.get("code") == "RATE_LIMITED":  # the session's earlier tests registered from this address too
        time.sleep(limited["retryAfter"])
        registered = call(gateway.url, register, {"i": {"username": name, "password": PASSWORD}})
    assert not registered.get("errors"), registered
    login = call(
        gateway.url,
        "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
        {"i": {"username": name, "password": PASSWORD}},
    )
    assert not login.get("errors"), login
    token = login["data"]["login"]["accessToken"]
    created = call(
        gateway.url,
        "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key } }",
        {"i": {"name": "cli", "scopes": ["READ_RAG", "WRITE_RAG"]}},
        token,
    )
    return created["data"]["createApiKey"]["key"]


def run_ingest(gateway, api_key: str, *args: str) -> subprocess.CompletedProcess:
    env = {"AGENTHUB_API_KEY": api_key, "PATH": "/usr/bin:/bin", "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "agenthub", "ingest", "--url", gateway.url, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ingest_a_folder_then_search_it(gateway, api_key, tmp_path):
    folder = tmp_path / "notes"
    (folder / "sub").mkdir(parents=True)
    (folder / "otters.md").write_text("# Otters\n\nSea otters hold hands while they sleep so they do not drift apart.")
    (folder / "sub" / "bees.txt").write_text("Honey bees dance to tell each other where the flowers are.")
    (folder / ".hidden.txt").write_text("not this one")
    (folder / "data.csv").write_text("a,b\n1,2\n")
    result = run_ingest(gateway, api_key, str(folder), "--collection", "field-notes")
    assert result.returncode == 0, result.stderr
    assert "2 of 2 files ingested; 2 skipped" in result.stderr
    assert f"skipped {folder / '.hidden.txt'}: hidden" in result.stderr
    assert f"skipped {folder / 'data.csv'}: unsupported extension '.csv'" in result.stderr

    hits = call(
        gateway.url,
        '{ search(query: "why do otters hold hands", collections: ["field-notes"], topK: 1) { title content } }',
        token=api_key,
    )
    assert hits["data"]["search"][0]["title"] == "otters.md", hits


def test_a_rejected_file_is_reported_and_the_others_proceed(gateway, api_key, tmp_path):
    (tmp_path / "fake.pdf").write_bytes(b"this is not a PDF at all")
    (tmp_path / "real.txt").write_text("Lichens are a partnership of a fungus and an alga.")
    result = run_ingest(gateway, api_key, str(tmp_path / "fake.pdf"), str(tmp_path / "real.txt"))
    assert result.returncode == 1
    assert "fake.pdf" in result.stderr and "REJECTED" in result.stderr
    assert "1 of 2 files ingested" in result.stderr


def test_without_an_api_key_it_says_what_to_do(gateway, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "agenthub", "ingest", str(tmp_path)],
        env={"PATH": "/usr/bin:/bin"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "AGENTHUB_API_KEY" in result.stderr


def test_an_unreachable_gateway_is_named(api_key, tmp_path):
    (tmp_path / "a.txt").write_text("text")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    result = subprocess.run(
        [sys.executable, "-m", "agenthub", "ingest", "--url", dead, str(tmp_path / "a.txt")],
        env={"AGENTHUB_API_KEY": api_key, "PATH": "/usr/bin:/bin", "PYTHONWARNINGS": "ignore"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"cannot reach the gateway at {dead}" in result.stderr
    assert "Traceback" not in result.stderr
