"""The previous system's two clients, played against a started stack through the REST API.

The agent's model is the scripted OpenAI-compatible server (tests/support/scripted_llm.py): it asks for one
``query_database`` call on the sample shop database, then answers; everything else is real.
"""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.rest.conftest import STACK_TIMEOUT, bearer, login, new_user, new_username, register, wait_for_progress
from tests.support.scripted_llm import Text, ToolCalls

pytestmark = pytest.mark.timeout(STACK_TIMEOUT)  # a first test also starts the stack

SQL = "SELECT COUNT(*) AS n FROM products"


def script_sql_answer(llm, answer: str) -> str:
    marker = f"rest-{uuid.uuid4().hex[:8]}"
    llm.script(marker, [ToolCalls([("query_database", {"sql": SQL})]), Text([answer[:10], answer[10:]])])
    return marker


def test_web_client_flow(rest, rest_llm):
    # register → login
    username = new_username("web")
    register(rest, username)
    signed_in = login(rest, username)
    assert signed_in["message"] == "Login successful!"
    assert signed_in["session_id"] and signed_in["user_info"]["role"] == "user"
    assert {"read:agent", "write:agent", "read:rag", "write:rag"} <= set(signed_in["user_info"]["permissions"])
    headers = bearer(signed_in["token"])

    # agent query, reading final_response (and the SQL fields of the run's database step)
    marker = script_sql_answer(rest_llm, "The shop sells twelve products.")
    response = rest.post(
        "/api/agent/query",
        headers=headers,
        json={"user_request": f"How many products are there? {marker}", "disable_sql_blocking": True},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["final_response"] == "The shop sells twelve products."
    assert answer["original_request"].startswith("How many products")
    assert answer["generated_sql"] == SQL and answer["query_type"] == "sql"
    # what the run record keeps of the database step (GraphQL's steps): no rows (docs/rest.md says why)
    [database_step] = answer["db_results"]
    assert set(database_step) == {"sql", "summary", "error", "duration_ms"}
    assert (database_step["sql"], database_step["summary"], database_step["error"]) == (SQL, "1 row(s)", False)
    assert isinstance(database_step["duration_ms"], float) and database_step["duration_ms"] >= 0
    assert answer["execution_time"] > 0

    # upload_with_progress → poll upload_progress to 100
    files = [
        (
            "files",
            (
                "lighthouse.txt",
                b"The lighthouse keeper of Port Quill counts seventeen gulls "
                b"every dawn and records them in a blue ledger.\n",
                "text/plain",
            ),
        ),
        (
            "files",
            (
                "recipes.md",
                b"# Recipes\n\nSaffron porridge needs oats, milk and a pinch of saffron from the harbour market.\n",
                "text/markdown",
            ),
        ),
    ]
    response = rest.post("/api/rag/upload_with_progress", headers=headers, files=files)
    assert response.status_code == 200, response.text
    started = response.json()
    assert started["file_count"] == 2 and started["progress_tracking_available"] is True
    seen = wait_for_progress(rest, signed_in["token"], started["session_id"])
    final = seen[-1]
    assert final["status"] == "completed" and final["total_files"] == final["completed_files"] == 2
    assert final["current_file"] is None
    assert {name: r["status"] for name, r in final["results"].items()} == {
        "lighthouse.txt": "success",
        "recipes.md": "success",
    }
    assert all(0 <= s["progress"] <= 99 and s["status"] == "processing" for s in seen[:-1])

    # rag query, reading response and context
    response = rest.post("/api/rag/query", headers=headers, json={"query": "How many gulls does the keeper count?"})
    assert response.status_code == 200, response.text
    rag = response.json()
    assert rag["response"] == rag["answer"] and rag["response"]
    assert any("seventeen gulls" in passage for passage in rag["context"])
    assert "lighthouse.txt" in rag["sources"]

    # retrieve, reading documents[].content/score/source/title
    response = rest.post("/api/rag/retrieve", headers=headers, json={"query": "saffron porridge"})
    assert response.status_code == 200, response.text
    documents = response.json()["documents"]
    assert documents and "saffron" in documents[0]["content"].lower()
    assert documents[0]["title"] == documents[0]["source"] == "recipes.md"
    assert isinstance(documents[0]["score"], float) and documents[0]["metadata"]["document_id"]


def test_command_line_client_flow(rest, rest_llm):
    """The CLI passes ``--auth-token``, which it sends bare, without 'Bearer '."""
    username = new_username("cli")
    register(rest, username)
    headers = {"Authorization": login(rest, username)["token"]}

    marker = script_sql_answer(rest_llm, "Twelve products are listed.")
    response = rest.post("/api/agent/query", headers=headers, json={"user_request": f"count products {marker}"})
    assert response.status_code == 200, response.text
    assert response.json()["final_response"] == "Twelve products are listed."

    response = rest.post("/api/rag/ingest", headers=headers, json={"file_paths": ["handbook.md", "teams/glacier.txt"]})
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Documents ingested successfully"}

    response = rest.post("/api/rag/query", headers=headers, json={"query": "What is the glacier team's mascot?"})
    assert response.status_code == 200, response.text
    assert any("Bernadette" in passage for passage in response.json()["context"])

    response = rest.post("/api/rag/retrieve", headers=headers, json={"query": "reindeer vouchers bonus", "top_k": 1})
    assert response.status_code == 200, response.text
    documents = response.json()["documents"]
    assert len(documents) == 1 and documents[0]["title"] == "handbook.md"
    assert "reindeer vouchers" in documents[0]["content"]

    response = rest.post("/api/rag/lookup", headers=headers, json={"query": "walrus"})
    assert response.status_code == 200, response.text
    assert [d["title"] for d in response.json()["documents"]][:1] == ["glacier.txt"]

    response = rest.post("/api/auth/validate", headers=headers)
    assert response.status_code == 200 and response.json()["valid"] is True


def test_cancelling_an_upload_session(rest):
    """cancel_upload while files are still queued: those end CANCELLED (an "error" to old clients), are never
    searchable, and the session still reaches 100; a file already ingested stays."""
    token = new_user(rest, "canceller")
    words = [f"kw{uuid.uuid4().hex[:8]}" for _ in range(10)]
    # one job runs at a time per user (rag_ingest_user_quota 1): with ten long files, later ones are still queued
    files = [
        (
            "files",
            (
                f"part{i}.txt",
                (f"Part {i} speaks of {word}. " + "A long paragraph of filler text. " * 900).encode(),
                "text/plain",
            ),
        )
        for i, word in enumerate(words)
    ]
    started = rest.post("/api/rag/upload_with_progress", headers=bearer(token), files=files)
    assert started.status_code == 200, started.text
    session_id = started.json()["session_id"]
    response = rest.post(f"/api/rag/cancel_upload/{session_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    after_cancel = response.json()
    assert after_cancel["total_files"] == 10 and set(after_cancel["results"]) == {f"part{i}.txt" for i in range(10)}
    cancelled = {
        name
        for name, r in after_cancel["results"].items()
        if r["status"] == "error" and r["message"] == "cancelled by request"
    }
    assert cancelled, after_cancel  # at least the last files were still queued
    assert all(r["status"] in ("success", "error", "processing") for r in after_cancel["results"].values())

    final = wait_for_progress(rest, token, session_id)[-1]
    assert final["progress"] == 100 and final["status"] in ("failed", "completed_with_errors")
    for name, result in final["results"].items():
        assert result["status"] in ("success", "error"), result
        if name in cancelled:  # a cancel is final
            assert result == after_cancel["results"][name]
        job = rest.get(f"/api/rag/jobs/{result['job_id']}", headers=bearer(token))
        assert job.status_code == 200 and job.json()["id"] == result["job_id"]
        assert job.json()["status"] == ("DONE" if result["status"] == "success" else "CANCELLED"), job.json()
    for i, word in enumerate(words):
        found = rest.post("/api/rag/lookup", headers=bearer(token), json={"query": word}).json()["documents"]
        assert any(word in d["content"] for d in found) == (final["results"][f"part{i}.txt"]["status"] == "success")
