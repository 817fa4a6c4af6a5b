"""The auth service over real AMQP: ``nameko run`` on its own vhost, PostgreSQL, Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from gateway.rpc import RpcClient
from schema.errors import BadUserInput, Conflict, Forbidden, NotFound, RateLimited, Unauthenticated
from services.auth import db
from services.auth.accounts import create_admin
from services.auth.models import ApiKey
from services.common.settings import ServiceSettings

PASSWORD = "correct horse battery"


class Client:
    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc

    async def __call__(self, method: str, *args, token: str | None = None, ip: str = "192.0.2.1", **kwargs):
        context = {
            "auth_token": token,
            "client_ip": ip,
            "user_agent": "pytest-auth",
            "request_id": f"req-{uuid.uuid4().hex[:12]}",
        }
        return await self.rpc.call("auth", method, list(args), kwargs, context=context, timeout=30)


@pytest.fixture(scope="session")
async def auth(auth_service, auth_isolation):
    rpc = RpcClient(auth_isolation.amqp_uri, default_timeout=30.0, name="auth-test")
    await rpc.start(wait=10)
    yield Client(rpc)
    await rpc.close()


@pytest.fixture(scope="session")
def engine(auth_database):
    engine = db.make_engine(auth_database, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
async def admin_token(auth, engine):
    create_admin(
        db.session_factory(engine),
        "root",
        PASSWORD,
        settings=ServiceSettings(
            env="development", password_memory_cost=4096, password_time_cost=1, password_parallelism=1
        ),
    )
    return (await auth("login", {"username": "root", "password": PASSWORD}))["access_token"]


def unique(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def signed_up(auth, username: str | None = None) -> tuple[dict, dict]:
    username = username or unique()
    user = await auth("register", {"username": username, "password": PASSWORD})
    pair = await auth("login", {"username": username, "password": PASSWORD})
    return user, pair


async def test_health_reports_database_and_redis(auth):
    health = await auth("health")
    assert health["status"] == "UP"
    assert {d["name"]: d["detail"] for d in health["dependencies"]}["database"] in ("postgresql", "sqlite")


async def test_register_reports_errors_by_field(auth):
    with pytest.raises(BadUserInput) as raised:
        await auth("register", {"username": "x", "password": "short", "email": "not-an-email"})
    assert set(raised.value.details["fields"]) == {"username", "password", "email"}
    with pytest.raises(BadUserInput) as raised:
        await auth("register", {"username": "carol", "password": "CAROL-is-me"})
    assert raised.value.details["fields"] == {"password": "must not contain the username"}


async def test_duplicate_username_is_a_conflict(auth):
    name = unique("Dup")
    await auth("register", {"username": name, "password": PASSWORD})
    with pytest.raises(Conflict):
        await auth("register", {"username": name.upper(), "password": PASSWORD})


async def test_login_me_refresh_rotation_and_reuse(auth):
    user, pair = await signed_up(auth)
    me = await auth("me", token=pair["access_token"])
    assert me["id"] == user["id"] and me["role"] == "user"
    rotated = await auth("refresh", pair["refresh_token"])
    assert rotated["refresh_token"] != pair["refresh_token"]
    assert (await auth("me", token=rotated["access_token"]))["id"] == user["id"]
    with pytest.raises(Unauthenticated) as raised:
        await auth("refresh", pair["refresh_token"])
    assert raised.value.details["reason"] == "reuse"
    for token in (pair["access_token"], rotated["access_token"]):
        with pytest.raises(Unauthenticated):  # the whole session ended, in every later call
            await auth("me", token=token)
    with pytest.raises(Unauthenticated):
        await auth("refresh", rotated["refresh_token"])


async def test_logout_revokes_the_session_for_every_later_call(auth):
    _, pair = await signed_up(auth)
    other = await auth(
        "login",
        {"username": (await auth("me", token=pair["access_token"]))["username"], "password": PASSWORD},
        ip="192.0.2.55",
    )
    sessions = await auth("sessions", token=pair["access_token"])
    assert len(sessions) == 2 and sum(s["current"] for s in sessions) == 1
    assert await auth("logout", token=pair["access_token"]) is True
    with pytest.raises(Unauthenticated):
        await auth("me", token=pair["access_token"])
    with pytest.raises(Unauthenticated):
        await auth("refresh", pair["refresh_token"])
    remaining = await auth("sessions", token=other["access_token"])
    assert [s["ip"] for s in remaining] == ["192.0.2.55"]
    with pytest.raises(NotFound):
        await auth("revoke_session", "no-such-session", token=other["access_token"])
    assert await auth("revoke_session", remaining[0]["id"], token=other["access_token"]) is True
    with pytest.raises(Unauthenticated):
        await auth("me", token=other["access_token"])


async def test_anonymous_and_forged_callers_are_refused(auth):
    with pytest.raises(Unauthenticated):
        await auth("me")
    with pytest.raises(Unauthenticated):
        await auth("me", token="not.a.jwt")


async def test_admin_operations_need_their_permissions(auth, admin_token):
    _, pair = await signed_up(auth)
    for method, args in [
        ("users", []),
        ("set_user_role", ["x", "guest"]),
        ("set_user_active", ["x", False]),
        ("audit_log", []),
    ]:
        with pytest.raises(Forbidden):
            await auth(method, *args, token=pair["access_token"])
        with pytest.raises(Unauthenticated):
            await auth(method, *args)
    page = await auth("users", 100, None, "root", token=admin_token)
    assert [u["username"] for u in page["items"]] == ["root"]


async def test_deactivation_kills_tokens_and_api_keys_at_once(auth, admin_token):
    user, pair = await signed_up(auth)
    created = await auth("create_api_key", {"name": "ci", "scopes": ["read:rag"]}, token=pair["access_token"])
    grant = await auth("authenticate_api_key", created["key"])
    assert (await auth("me", token=grant["access_token"]))["permissions"] == ["read:rag"]

    deactivated = await auth("set_user_active", user["id"], False, token=admin_token)
    assert deactivated["active"] is False
    for token in (pair["access_token"], grant["access_token"]):
        with pytest.raises(Unauthenticated):
            await auth("me", token=token)
    with pytest.raises(Unauthenticated):
        await auth("authenticate_api_key", created["key"])
    with pytest.raises(Unauthenticated):
        await auth("refresh", pair["refresh_token"])
    with pytest.raises(Unauthenticated):
        await auth("login", {"username": user["username"], "password": PASSWORD})
    with pytest.raises(BadUserInput):
        await auth("set_user_active", (await auth("me", token=admin_token))["id"], False, token=admin_token)


async def test_role_change_takes_effect_at_once(auth, admin_token):
    user, pair = await signed_up(auth)
    await auth("set_user_role", user["id"], "guest", token=admin_token)
    with pytest.raises(Unauthenticated):
        await auth("me", token=pair["access_token"])
    fresh = await auth("refresh", pair["refresh_token"])
    assert (await auth("me", token=fresh["access_token"]))["role"] == "guest"


async def test_api_keys_scope_subset_revocation_and_expiry(auth, engine):
    _, pair = await signed_up(auth)
    token = pair["access_token"]
    with pytest.raises(BadUserInput) as raised:
        await auth("create_api_key", {"name": "too much", "scopes": ["read:rag", "manage:users"]}, token=token)
    assert "scopes" in raised.value.details["fields"]
    with pytest.raises(BadUserInput) as raised:
        await auth(
            "create_api_key",
            {"name": "past", "scopes": ["read:rag"], "expires_at": "2000-01-01T00:00:00Z"},
            token=token,
        )
    assert raised.value.details["fields"] == {"expiresAt": "must be in the future"}

    revoked = await auth("create_api_key", {"name": "a", "scopes": ["read:rag"]}, token=token)
    grant = await auth("authenticate_api_key", revoked["key"])
    assert grant["cache_until"] <= time.time() + 61
    assert await auth("revoke_api_key", revoked["api_key"]["id"], token=token) is True
    with pytest.raises(Unauthenticated):
        await auth("authenticate_api_key", revoked["key"])
    with pytest.raises(Unauthenticated):
        await auth("me", token=grant["access_token"])

    expiring = await auth("create_api_key", {"name": "b", "scopes": ["read:rag"]}, token=token)
    await auth("authenticate_api_key", expiring["key"])
    with db.session_factory(engine).begin() as session:
        session.get(ApiKey, expiring["api_key"]["id"]).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(Unauthenticated) as raised:
        await auth("authenticate_api_key", expiring["key"])
    assert raised.value.details["reason"] == "expired"
    listed = {k["name"]: k for k in await auth("api_keys", token=token)}
    assert listed["a"]["revoked"] and listed["b"]["last_used_at"] and "key" not in listed["a"]


async def test_login_brute_force_is_rate_limited_even_with_the_right_password(auth):
    user, _ = await signed_up(auth)
    for _ in range(10):
        with pytest.raises(Unauthenticated):
            await auth("login", {"username": user["username"], "password": "wrong password"})
    for password in ("wrong password", PASSWORD):
        with pytest.raises(RateLimited) as raised:
            await auth("login", {"username": user["username"], "password": password})
        assert 1 <= raised.value.extensions["retryAfter"] <= 60


async def test_fifty_simultaneous_wrong_logins_count_exactly_ten(auth, admin_token):
    user, _ = await signed_up(auth)
    attempts = [
        auth("login", {"username": user["username"], "password": f"wrong password {i}"}, ip="192.0.2.99")
        for i in range(50)
    ]
    results = await asyncio.gather(*attempts, return_exceptions=True)
    kinds = [type(r).__name__ for r in results]
    assert kinds.count("Unauthenticated") == 10 and kinds.count("RateLimited") == 40, kinds
    failures = await auth("audit_log", {"action": "login"}, 100, token=admin_token)
    mine = [e for e in failures["items"] if e["detail"].get("username") == user["username"]]
    assert len(mine) == 10 and all(e["outcome"] == "failure" for e in mine)
    limited = await auth("audit_log", {"action": "rate_limited"}, 100, token=admin_token)
    assert len([e for e in limited["items"] if e["detail"].get("username") == user["username"]]) == 40


async def test_other_services_audit_events_are_stored(auth, admin_token, auth_isolation):
    from nameko.standalone.events import event_dispatcher

    resource = f"document:{uuid.uuid4().hex}"
    dispatch = event_dispatcher({"AMQP_URI": auth_isolation.amqp_uri})
    dispatch(
        "rag",
        "audit",
        {
            "action": "document.delete",
            "actor": "u-1",
            "actor_type": "user",
            "resource": resource,
            "at": time.time(),
            "detail": {"title": "report"},
        },
    )
    dispatch("rag", "audit", {"nonsense": True})  # dropped, not redelivered forever
    await auth("record_audit", {"action": "permission.denied", "outcome": "denied", "resource": resource})
    with pytest.raises(BadUserInput):
        await auth("record_audit", {"outcome": "maybe"})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        page = await auth("audit_log", {}, 100, token=admin_token)
        found = {e["action"] for e in page["items"] if e["resource"] == resource}
        if found == {"document.delete", "permission.denied"}:
            break
        await asyncio.sleep(0.2)
    assert found == {"document.delete", "permission.denied"}


async def test_a_redelivered_audit_event_is_stored_once(auth, admin_token, auth_isolation, engine):
    from nameko.standalone.events import event_dispatcher

    event_id, resource = str(uuid.uuid4()), f"document:{uuid.uuid4().hex}"
    event = {
        "id": event_id,
        "action": "document.delete",
        "actor": "u-1",
        "actor_type": "user",
        "resource": resource,
        "at": time.time(),
    }
    dispatch = event_dispatcher({"AMQP_URI": auth_isolation.amqp_uri})
    for source in ("rag", "rag", "agent"):  # at-least-once delivery, and a sender that sent it twice
        dispatch(source, "audit", event)
    await auth("record_audit", event)
    markers = {
        source: {"id": str(uuid.uuid4()), "action": "marker", "resource": resource} for source in ("rag", "agent")
    }
    for source, marker in markers.items():  # queued behind the copies on each source's queue
        dispatch(source, "audit", marker)
    expected = sorted([event_id] + [m["id"] for m in markers.values()])
    query = text("SELECT id FROM audit_events WHERE resource = :r")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            ids = sorted(connection.execute(query, {"r": resource}).scalars())
        if set(ids) >= set(expected):
            break
        await asyncio.sleep(0.2)
    assert ids == expected


async def test_old_audit_rows_are_purged_by_the_services_timer(auth, engine):
    from services.auth.models import AuditRow

    old_id, kept_id = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC)
    with db.session_factory(engine).begin() as session:
        for row_id, age in ((old_id, 400), (kept_id, 300)):
            session.add(
                AuditRow(
                    id=row_id,
                    at=now - timedelta(days=age),
                    actor_type="anonymous",
                    action="retention.probe",
                    outcome="success",
                    detail={},
                )
            )
    query = text("SELECT id FROM audit_events WHERE action = 'retention.probe'")
    deadline = time.monotonic() + 60  # AGENTHUB_AUDIT_PURGE_INTERVAL is 10 s here
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            left = set(connection.execute(query).scalars())
        if old_id not in left:
            break
        await asyncio.sleep(0.5)
    assert left == {kept_id}


async def test_audit_rows_are_written_and_hold_no_secret(auth, admin_token, engine):
    user, pair = await signed_up(auth)
    with pytest.raises(Unauthenticated):
        await auth("login", {"username": user["username"], "password": "a-wrong-secret-pass"})
    rotated = await auth("refresh", pair["refresh_token"])
    created = await auth("create_api_key", {"name": "ci", "scopes": ["read:rag"]}, token=rotated["access_token"])
    grant = await auth("authenticate_api_key", created["key"])
    await auth("revoke_api_key", created["api_key"]["id"], token=rotated["access_token"])
    await auth("logout", token=rotated["access_token"])
    secrets_seen = [
        PASSWORD,
        "a-wrong-secret-pass",
        pair["refresh_token"],
        rotated["refresh_token"],
        pair["access_token"],
        rotated["access_token"],
        created["key"],
        grant["access_token"],
        created["key"][36:],
        admin_token,
    ]
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM audit_events WHERE actor = :id"), {"id": user["id"]}).all()
        dump = "\n".join(repr(tuple(r)) for r in rows)
        for table in ["users", "sessions", "refresh_tokens", "api_keys", "audit_events"]:
            dump += "\n".join(repr(tuple(r)) for r in connection.execute(text(f"SELECT * FROM {table}")))
    actions = {r.action for r in rows}
    assert {"register", "login", "refresh", "api_key.create", "api_key.revoke", "logout"} <= actions
    assert all(r.request_id and r.ip == "192.0.2.1" and r.user_agent == "pytest-auth" for r in rows)
    for secret in secrets_seen:
        assert secret not in dump


async def test_a_starting_instance_republishes_revocations_redis_lost(auth, auth_isolation, auth_database):
    """Redis keeps nothing on disk: after it lost the revocation keys, the next
    instance to start (here a second one, sharing the database) writes them back."""
    import redis

    from core.tokens import session_revoked_key
    from tests.support.fixtures.auth import SERVICE_ENV
    from tests.support.stack import REDIS_URL, ServiceProcess

    _, pair = await signed_up(auth)
    session_id = next(s["id"] for s in await auth("sessions", token=pair["access_token"]) if s["current"])
    await auth("logout", token=pair["access_token"])
    client = redis.Redis.from_url(REDIS_URL)
    key = session_revoked_key(auth_isolation.redis_prefix, session_id)
    try:
        assert client.delete(key) == 1  # as after a Redis restart
        assert (await auth("me", token=pair["access_token"]))["username"]  # the hole this closes
        second = ServiceProcess(
            auth_isolation, "services.auth.service", "auth", AGENTHUB_DATABASE_URL=auth_database, **SERVICE_ENV
        )
        try:
            deadline = time.monotonic() + 30
            while not client.exists(key) and time.monotonic() < deadline:
                assert second.process.poll() is None, second.log_path.read_text()[-2000:]
                await asyncio.sleep(0.2)
            assert client.exists(key)
            with pytest.raises(Unauthenticated):
                await auth("me", token=pair["access_token"])
        finally:
            second.stop()
    finally:
        client.close()
