"""Issue 11, items 4 and 8: scopes and permissions that mean what they say; names and dates bounded."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from schema.permissions import ROLE_PERMISSIONS, Permission, Role, parse_role_grants
from services.agent.sql import OwnDatabase, SqlDatabase, same_database
from services.auth.db import migrate
from tests.integration.security.conftest import create_key, new_user
from tests.support.gateway import error_code, gql

ACCOUNT_OPERATIONS = [
    ("{ sessions { id ip userAgent } }", {}),
    ("{ apiKeys { id } }", {}),
    ("mutation($id: ID!) { revokeSession(id: $id) }", {"id": "any"}),
    ("mutation($id: ID!) { revokeApiKey(id: $id) }", {"id": "any"}),
    ('mutation { createApiKey(input: {name: "x", scopes: [READ_RAG]}) { key } }', {}),
]


def test_an_api_key_without_the_account_scope_cannot_touch_the_account(gateway):
    _, token = new_user(gateway)
    key = create_key(gateway, token, ["READ_RAG"])
    for query, variables in ACCOUNT_OPERATIONS:
        body = gql(gateway, query, variables, token=key)
        assert error_code(body) == "FORBIDDEN", (query, body)
        assert body["errors"][0]["extensions"]["requires"] == "MANAGE_ACCOUNT"
    sessions = gql(gateway, "{ sessions { id } }", token=token)  # the signed-in session still may
    assert len(sessions["data"]["sessions"]) == 1


def test_an_explicit_account_scope_is_honoured(gateway):
    _, token = new_user(gateway)
    key = create_key(gateway, token, ["MANAGE_ACCOUNT"])
    assert len(gql(gateway, "{ sessions { id } }", token=key)["data"]["sessions"]) == 1


def test_a_run_is_refused_before_it_starts_when_its_answer_could_not_be_read(gateway):
    _, token = new_user(gateway)
    key = create_key(gateway, token, ["WRITE_AGENT"])
    body = gql(gateway, 'mutation { runAgent(input: {message: "SELECT everything"}) { id answer } }', token=key)
    assert error_code(body) == "FORBIDDEN" and body["errors"][0]["extensions"]["requires"] == "READ_AGENT"
    conversations = gql(gateway, "{ conversations { nodes { id } } }", token=token)
    assert conversations["data"]["conversations"]["nodes"] == []  # nothing ran


def test_the_system_prompt_needs_write_system(gateway, admin_token):
    _, token = new_user(gateway)
    body = gql(gateway, 'mutation { setSystemPrompt(prompt: "obey") }', token=token)
    assert error_code(body) == "FORBIDDEN" and body["errors"][0]["extensions"]["requires"] == "WRITE_SYSTEM"
    reset = gql(gateway, "mutation { setSystemPrompt(prompt: null) }", token=admin_token)
    assert not reset.get("errors"), reset


def test_the_database_tool_is_not_a_user_permission_unless_granted():
    assert Permission.QUERY_SQL not in ROLE_PERMISSIONS[Role.USER]
    assert parse_role_grants('{"user": ["query:sql"]}') == {Role.USER: frozenset({Permission.QUERY_SQL})}
    for bad in ('{"root": ["query:sql"]}', '{"user": ["drop:tables"]}', "[1]"):
        with pytest.raises(ValueError):
            parse_role_grants(bad)


def test_the_agent_refuses_agenthubs_own_database(tmp_path):
    auth_db = tmp_path / "auth.db"
    migrate(f"sqlite:///{auth_db}")
    assert same_database(f"sqlite:///{auth_db}", f"sqlite:///{tmp_path}/./auth.db")
    assert same_database("postgresql://a@localhost/auth", "postgresql+pg8000://b:pw@127.0.0.1:5432/auth")
    assert not same_database("postgresql://a@localhost/shop", "postgresql://a@localhost/auth")
    with pytest.raises(OwnDatabase):  # under any other URL too: its tables give it away
        SqlDatabase.from_url(f"sqlite:///{auth_db}").load_schema()
    shop = tmp_path / "shop.db"
    with sqlite3.connect(shop) as connection:
        connection.execute("CREATE TABLE orders (id INTEGER)")
    SqlDatabase.from_url(f"sqlite:///{shop}").load_schema()


KEY = "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key apiKey { expiresAt } } }"


def test_api_keys_expire_within_a_year_and_are_capped_per_user(gateway):
    _, token = new_user(gateway)
    far = (datetime.now(UTC) + timedelta(days=366)).isoformat()
    body = gql(gateway, KEY, {"i": {"name": "far", "scopes": ["READ_RAG"], "expiresAt": far}}, token=token)
    assert error_code(body) == "BAD_USER_INPUT" and "expiresAt" in body["errors"][0]["extensions"]["fields"]
    default = gql(gateway, KEY, {"i": {"name": "default", "scopes": ["READ_RAG"]}}, token=token)
    expires = datetime.fromisoformat(default["data"]["createApiKey"]["apiKey"]["expiresAt"])
    assert timedelta(days=364) < expires - datetime.now(UTC) <= timedelta(days=365)
    for _ in range(19):
        create_key(gateway, token, ["READ_RAG"])
    over = gql(gateway, KEY, {"i": {"name": "21st", "scopes": ["READ_RAG"]}}, token=token)
    assert error_code(over) == "BAD_USER_INPUT" and over["errors"][0]["extensions"]["reason"] == "too_many_keys"


@pytest.mark.parametrize("name", ["line\r\nbreak", "nul\x00byte", "gpj\u202eexe.txt", "tab\tin"])
def test_control_and_bidi_characters_are_refused_in_names_and_titles(gateway, name):
    _, token = new_user(gateway)
    body = gql(gateway, KEY, {"i": {"name": name, "scopes": ["READ_RAG"]}}, token=token)
    assert error_code(body) == "BAD_USER_INPUT" and "name" in body["errors"][0]["extensions"]["fields"]
    body = gql(
        gateway,
        "mutation($i: IngestTextInput!) { ingestText(input: $i) { id } }",
        {"i": {"title": name, "text": "some text"}},
        token=token,
    )
    assert error_code(body) == "BAD_USER_INPUT" and "title" in body["errors"][0]["extensions"]["fields"], body
    body = gql(gateway, "mutation($n: String!) { createCollection(name: $n) { id } }", {"n": name}, token=token)
    assert error_code(body) == "BAD_USER_INPUT", body


def test_every_string_argument_is_bounded(gateway):
    _, token = new_user(gateway)
    body = gql(gateway, "query($q: String!) { search(query: $q) { content } }", {"q": "x" * 2001}, token=token)
    assert error_code(body) == "BAD_USER_INPUT" and body["errors"][0]["extensions"]["fields"] == {
        "query": "must be at most 2000 characters"
    }
    body = gql(
        gateway, "query($a: String) { users(after: $a) { pageInfo { hasNextPage } } }", {"a": "c" * 5000}, token=token
    )
    assert error_code(body) in ("BAD_USER_INPUT", "FORBIDDEN")
    body = gql(gateway, "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }", {"t": "r" * 10_000})
    assert error_code(body) == "BAD_USER_INPUT"
