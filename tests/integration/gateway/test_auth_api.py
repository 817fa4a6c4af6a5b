"""The auth API through the gateway and the real auth service: the flows a client lives by."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from services.auth.accounts import create_admin_at
from services.common.settings import ServiceSettings
from tests.support.gateway import error_code, gateway_settings, gql

PASSWORD = "a perfectly fine passphrase"
REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { id username role permissions } }"
LOGIN = "mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken expiresIn tokenType } }"
REFRESH = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }"
ME = "{ me { id username role permissions } }"


@pytest.fixture(scope="module")
def gateway(isolation, stack):
    settings = gateway_settings(isolation, api_key_cache_seconds=0)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def admin_token(gateway, isolation):
    settings = ServiceSettings(
        data_dir=isolation.data_dir,
        env="development",
        password_time_cost=1,
        password_memory_cost=1024,
        password_parallelism=1,
    )
    create_admin_at(settings.auth_database_url(), "api_admin", PASSWORD, settings=settings)
    return gql(gateway, LOGIN, {"i": {"username": "api_admin", "password": PASSWORD}})["data"]["login"]["accessToken"]


def new_user(gateway) -> tuple[str, dict]:
    name = f"u_{uuid.uuid4().hex[:10]}"
    user = gql(gateway, REGISTER, {"i": {"username": name, "password": PASSWORD}})["data"]["register"]
    pair = gql(gateway, LOGIN, {"i": {"username": name, "password": PASSWORD}})["data"]["login"]
    return user["id"], pair


def test_register_returns_a_user_with_the_user_role(gateway):
    name = f"New.User-{uuid.uuid4().hex[:6]}"
    user = gql(gateway, REGISTER, {"i": {"username": name, "password": PASSWORD, "email": "n@example.org"}})
    assert user["data"]["register"]["role"] == "USER"
    assert set(user["data"]["register"]["permissions"]) == {
        "READ_AGENT",
        "WRITE_AGENT",
        "READ_RAG",
        "WRITE_RAG",
        "MANAGE_ACCOUNT",
    }
    again = gql(gateway, REGISTER, {"i": {"username": name.upper(), "password": PASSWORD}})
    assert error_code(again) == "CONFLICT"


def test_register_reports_every_bad_field(gateway):
    body = gql(gateway, REGISTER, {"i": {"username": "a b", "password": "short", "email": "not-an-email"}})
    assert error_code(body) == "BAD_USER_INPUT"
    assert set(body["errors"][0]["extensions"]["fields"]) == {"username", "password", "email"}
    too_long = gql(gateway, REGISTER, {"i": {"username": "x" * 5000, "password": "p" * 5000}})
    assert error_code(too_long) == "BAD_USER_INPUT"


def test_login_me_refresh_logout(gateway):
    user_id, pair = new_user(gateway)
    assert pair["tokenType"] == "Bearer" and pair["expiresIn"] == 900
    assert gql(gateway, ME, token=pair["accessToken"])["data"]["me"]["id"] == user_id

    rotated = gql(gateway, REFRESH, {"t": pair["refreshToken"]})["data"]["refreshToken"]
    assert rotated["refreshToken"] != pair["refreshToken"]
    assert gql(gateway, ME, token=rotated["accessToken"])["data"]["me"]["id"] == user_id

    assert gql(gateway, "mutation { logout }", token=rotated["accessToken"])["data"]["logout"] is True
    assert error_code(gql(gateway, ME, token=rotated["accessToken"])) == "UNAUTHENTICATED"
    assert error_code(gql(gateway, ME, token=pair["accessToken"])) == "UNAUTHENTICATED"  # same session
    assert error_code(gql(gateway, REFRESH, {"t": rotated["refreshToken"]})) == "UNAUTHENTICATED"


def test_reusing_a_rotated_refresh_token_ends_the_session(gateway):
    _, pair = new_user(gateway)
    rotated = gql(gateway, REFRESH, {"t": pair["refreshToken"]})["data"]["refreshToken"]
    reuse = gql(gateway, REFRESH, {"t": pair["refreshToken"]})
    assert error_code(reuse) == "UNAUTHENTICATED"
    assert error_code(gql(gateway, ME, token=rotated["accessToken"])) == "UNAUTHENTICATED"
    assert error_code(gql(gateway, REFRESH, {"t": rotated["refreshToken"]})) == "UNAUTHENTICATED"


def test_sessions_and_revoking_one(gateway):
    user_id, first = new_user(gateway)
    name = gql(gateway, ME, token=first["accessToken"])["data"]["me"]["username"]
    second = gql(gateway, LOGIN, {"i": {"username": name, "password": PASSWORD}})["data"]["login"]
    sessions = gql(gateway, "{ sessions { id current userAgent } }", token=first["accessToken"])["data"]["sessions"]
    assert len(sessions) == 2
    other = next(s for s in sessions if not s["current"])
    revoked = gql(
        gateway, "mutation($id: ID!) { revokeSession(id: $id) }", {"id": other["id"]}, token=first["accessToken"]
    )
    assert revoked["data"]["revokeSession"] is True
    assert error_code(gql(gateway, ME, token=second["accessToken"])) == "UNAUTHENTICATED"
    assert gql(gateway, ME, token=first["accessToken"])["data"]["me"]["id"] == user_id


def test_api_keys_work_by_either_header_until_revoked(gateway):
    _, pair = new_user(gateway)
    created = gql(
        gateway,
        """mutation($i: CreateApiKeyInput!) {
        createApiKey(input: $i) { key apiKey { id name scopes } } }""",
        {"i": {"name": "ci", "scopes": ["READ_RAG"]}},
        token=pair["accessToken"],
    )["data"]["createApiKey"]
    key = created["key"]
    assert key.startswith("ah_") and created["apiKey"]["scopes"] == ["READ_RAG"]
    via_bearer = gql(gateway, "{ me { id permissions } }", token=key)["data"]["me"]
    assert via_bearer["permissions"] == ["READ_RAG"]  # the key's scopes, not the owner's role
    assert gql(gateway, ME, headers={"x-api-key": key})["data"]["me"]["id"] == via_bearer["id"]

    listed = gql(gateway, "{ apiKeys { id name lastUsedAt } }", token=pair["accessToken"])["data"]["apiKeys"]
    assert [k["name"] for k in listed] == ["ci"] and listed[0]["lastUsedAt"]
    assert "key" not in listed[0]

    gql(
        gateway,
        "mutation($id: ID!) { revokeApiKey(id: $id) }",
        {"id": created["apiKey"]["id"]},
        token=pair["accessToken"],
    )
    assert error_code(gql(gateway, ME, headers={"x-api-key": key})) == "UNAUTHENTICATED"


def test_api_key_scopes_must_be_a_subset_and_expiry_in_the_future(gateway):
    _, pair = new_user(gateway)
    create = "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key } }"
    too_much = gql(gateway, create, {"i": {"name": "x", "scopes": ["MANAGE_USERS"]}}, token=pair["accessToken"])
    assert error_code(too_much) == "BAD_USER_INPUT"
    assert "scopes" in too_much["errors"][0]["extensions"]["fields"]
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    expired = gql(
        gateway, create, {"i": {"name": "x", "scopes": ["READ_RAG"], "expiresAt": past}}, token=pair["accessToken"]
    )
    assert error_code(expired) == "BAD_USER_INPUT"


def test_wrong_or_unknown_api_keys_are_unauthenticated(gateway):
    assert error_code(gql(gateway, ME, headers={"x-api-key": "ah_nope_nope"})) == "UNAUTHENTICATED"
    assert error_code(gql(gateway, ME, token=f"ah_{uuid.uuid4().hex}_{'x' * 40}")) == "UNAUTHENTICATED"


def test_admin_manages_users_and_deactivation_is_immediate(gateway, admin_token):
    user_id, pair = new_user(gateway)
    key = gql(
        gateway,
        "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key } }",
        {"i": {"name": "k", "scopes": ["READ_AGENT"]}},
        token=pair["accessToken"],
    )["data"]["createApiKey"]["key"]
    assert gql(gateway, ME, token=key)["data"]["me"]["id"] == user_id

    name = gql(gateway, ME, token=pair["accessToken"])["data"]["me"]["username"]
    page = gql(
        gateway,
        "query($s: String) { users(search: $s, first: 5) { nodes { id } pageInfo { hasNextPage } } }",
        {"s": name},
        token=admin_token,
    )
    assert [u["id"] for u in page["data"]["users"]["nodes"]] == [user_id]

    role = gql(
        gateway,
        "mutation($u: ID!) { setUserRole(userId: $u, role: GUEST) { role } }",
        {"u": user_id},
        token=admin_token,
    )
    assert role["data"]["setUserRole"]["role"] == "GUEST"
    assert error_code(gql(gateway, ME, token=pair["accessToken"])) == "UNAUTHENTICATED"  # old role's token
    refreshed = gql(gateway, REFRESH, {"t": pair["refreshToken"]})["data"]["refreshToken"]
    assert gql(gateway, ME, token=refreshed["accessToken"])["data"]["me"]["role"] == "GUEST"

    gql(
        gateway,
        "mutation($u: ID!) { setUserActive(userId: $u, active: false) { active } }",
        {"u": user_id},
        token=admin_token,
    )
    assert error_code(gql(gateway, ME, token=refreshed["accessToken"])) == "UNAUTHENTICATED"
    assert error_code(gql(gateway, ME, token=key)) == "UNAUTHENTICATED"
    assert error_code(gql(gateway, REFRESH, {"t": refreshed["refreshToken"]})) == "UNAUTHENTICATED"
    assert error_code(gql(gateway, LOGIN, {"i": {"username": name, "password": PASSWORD}})) == "UNAUTHENTICATED"


def test_denials_and_logins_are_in_the_audit_log(gateway, admin_token):
    user_id, pair = new_user(gateway)
    assert error_code(gql(gateway, "{ users { nodes { id } } }", token=pair["accessToken"])) == "FORBIDDEN"
    query = """query($f: AuditFilter) { auditLog(filter: $f, first: 10) {
        nodes { action outcome actor actorType resource requestId ip detail } } }"""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the gateway's event reaches auth asynchronously
        entries = gql(gateway, query, {"f": {"actor": user_id}}, token=admin_token)["data"]["auditLog"]["nodes"]
        if any(e["action"] == "permission_denied" for e in entries):
            break
        time.sleep(0.2)
    denied = next(e for e in entries if e["action"] == "permission_denied")
    assert denied["outcome"] == "denied" and denied["actorType"] == "user" and denied["requestId"]
    assert denied["detail"]["permission"] == "manage:users"
    assert any(e["action"] == "login" and e["outcome"] == "success" for e in entries)
    text = str(entries)
    assert PASSWORD not in text and pair["accessToken"] not in text and pair["refreshToken"] not in text


def test_audit_log_is_for_read_system_only(gateway):
    _, pair = new_user(gateway)
    assert error_code(gql(gateway, "{ auditLog { nodes { id } } }", token=pair["accessToken"])) == "FORBIDDEN"
    assert error_code(gql(gateway, "{ auditLog { nodes { id } } }")) == "UNAUTHENTICATED"


def test_me_is_answered_at_the_edge_only_from_a_profile_of_the_tokens_version(gateway, isolation):
    import json

    import redis

    from core.tokens import profile_key
    from tests.support.stack import REDIS_URL

    user_id, pair = new_user(gateway)
    first = gql(gateway, ME, token=pair["accessToken"])["data"]["me"]  # via the auth service
    store = redis.Redis.from_url(REDIS_URL)
    key = profile_key(isolation.redis_prefix, user_id)
    cached = json.loads(store.get(key))
    assert cached["id"] == user_id and cached["version"] == 0 and "password" not in str(cached)
    assert gql(gateway, ME, token=pair["accessToken"])["data"]["me"] == first  # at the edge, same answer

    # A profile read under another token version is never used.
    store.set(key, json.dumps({**cached, "username": "forged", "version": 7}), ex=60)
    assert gql(gateway, ME, token=pair["accessToken"])["data"]["me"]["username"] == first["username"]
