"""``AuthService`` as a class, through Nameko's ``worker_factory``: no broker, the real domain
(SQLite and PostgreSQL, the real Redis) and the real ``Caller`` (``tests/support/callers.py``).

What the entrypoints add to the domain: the wire arguments reach the right aggregate, the caller's
request meta (address, user agent, request id) reaches sessions and audit rows, replies are
JSON-ready, the event handlers and timers keep their failure rules. The access matrix of every
operation is ``tests/unit/contract/test_contract.py``'s; the domain itself is ``test_domain.py``'s.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from core.redis_client import sync_client
from core.tokens import revocation_epoch_key
from schema.errors import BadUserInput, Unauthenticated
from services.auth import db
from services.auth.accounts import create_admin
from services.auth.domain import AuthDomain
from services.auth.models import AuditRow
from services.auth.service import AuthService
from services.common.settings import ServiceSettings
from tests.support.callers import Callers

PASSWORD = "correct horse battery"
CLIENT = {"client_ip": "203.0.113.9", "user_agent": "unit-agent/1.0"}


@pytest.fixture
def callers(redis_client, redis_prefix):
    """Callers whose tokens and revocation keys are the domain's (same development secret and prefix)."""
    return Callers(redis_client, prefix=redis_prefix)


@pytest.fixture
def worker(domain, redis_client, callers):
    """``worker(token)``: an ``AuthService`` instance as one worker of a call carrying ``token``."""

    def make(token: str | None = None, service_domain: AuthDomain | None = None) -> AuthService:
        return worker_factory(
            AuthService, auth=service_domain or domain, redis=redis_client, caller=callers.caller(token, **CLIENT)
        )

    return make


def signed_in(worker, username: str = "ada") -> tuple[dict, dict]:
    """Registers and logs in through the entrypoints: (the user, the token pair)."""
    user = worker().register(data={"username": username, "password": PASSWORD, "email": f"{username}@example.com"})
    return user, worker().login(data={"username": username.upper(), "password": PASSWORD})


def admin_token(worker, engine, domain) -> str:
    create_admin(db.session_factory(engine), "root", PASSWORD, settings=domain.settings)
    return worker().login(data={"username": "root", "password": PASSWORD})["access_token"]


def audit_rows(engine, action: str) -> list[AuditRow]:
    with db.session_factory(engine)() as session:
        return list(session.scalars(select(AuditRow).where(AuditRow.action == action).order_by(AuditRow.at)))


def test_register_login_me_and_sessions_carry_the_callers_request_meta(worker, engine):
    user, pair = signed_in(worker)
    assert user["username"] == "ada" and user["role"] == "user" and isinstance(user["created_at"], str)
    assert pair["token_type"] == "Bearer" and pair["refresh_token"]

    me = worker(pair["access_token"])
    assert me.me()["id"] == user["id"]
    [session] = me.sessions()
    assert session["current"] and session["ip"] == CLIENT["client_ip"]
    assert session["user_agent"] == CLIENT["user_agent"]
    [login] = audit_rows(engine, "login")
    assert (login.actor, login.ip, login.user_agent, login.request_id) == (
        user["id"],
        CLIENT["client_ip"],
        CLIENT["user_agent"],
        "req-unit",
    )


def test_bad_wire_input_is_bad_user_input_before_the_domain(worker, engine):
    with pytest.raises(BadUserInput) as raised:
        worker().register(data={"username": "ada", "password": "short"})
    assert set(raised.value.details["fields"]) == {"password"}
    assert audit_rows(engine, "register") == []  # the domain never saw it


def test_refresh_rotates_and_logout_ends_the_callers_session(worker):
    _, pair = signed_in(worker)
    rotated = worker().refresh(refresh_token=pair["refresh_token"])
    assert rotated["refresh_token"] != pair["refresh_token"]
    with pytest.raises(Unauthenticated):
        worker().refresh(pair["refresh_token"])  # positional, as an old client sends it: reused, session ended

    _, other = signed_in(worker, "grace")
    assert worker(other["access_token"]).logout() is True
    with pytest.raises(Unauthenticated) as raised:
        worker(other["access_token"]).me()
    assert raised.value.details["reason"] == "revoked"


def test_revoke_session_takes_the_session_id_from_the_wire(worker):
    _, first = signed_in(worker)
    second = worker().login(data={"username": "ada", "password": PASSWORD})
    me = worker(second["access_token"])
    other = next(s["id"] for s in me.sessions() if not s["current"])
    assert me.revoke_session(session_id=other) is True
    assert [s["current"] for s in me.sessions()] == [True]
    with pytest.raises(Unauthenticated):
        worker(first["access_token"]).me()


def test_api_keys_are_created_listed_exchanged_and_revoked(worker):
    user, pair = signed_in(worker)
    me = worker(pair["access_token"])
    created = me.create_api_key(data={"name": "ci", "scopes": ["read:rag"]})
    assert created["key"].startswith("ah_") and created["api_key"]["scopes"] == ["read:rag"]
    assert [k["name"] for k in me.api_keys()] == ["ci"]

    grant = worker().authenticate_api_key(key=created["key"])
    assert grant["user_id"] == user["id"] and grant["api_key_id"] == created["api_key"]["id"]
    assert worker(grant["access_token"]).me()["permissions"] == ["read:rag"]

    assert me.revoke_api_key(key_id=created["api_key"]["id"]) is True
    with pytest.raises(Unauthenticated) as raised:
        worker().authenticate_api_key(key=created["key"])
    assert raised.value.details["reason"] == "revoked"


def test_admin_pages_users_changes_roles_and_reads_the_audit_log(worker, engine, domain):
    admin = worker(admin_token(worker, engine, domain))
    user, pair = signed_in(worker)
    signed_in(worker, "grace")

    first = admin.users(first=2)
    assert [u["username"] for u in first["items"]] == ["ada", "grace"] and first["has_next_page"]
    rest = admin.users(first=2, after=first["end_cursor"])
    assert [u["username"] for u in rest["items"]] == ["root"] and not rest["has_next_page"]
    assert [u["username"] for u in admin.users(search="GRA")["items"]] == ["grace"]

    assert admin.set_user_role(user_id=user["id"], role="guest")["role"] == "guest"
    with pytest.raises(Unauthenticated):
        worker(pair["access_token"]).me()  # the old role's token is revoked
    assert admin.set_user_active(user_id=user["id"], active=False)["active"] is False
    with pytest.raises(BadUserInput):
        admin.set_user_active(user_id=user["id"], active="no")  # strictly a boolean

    log = admin.audit_log(filter={"action": "user.role"})
    [entry] = log["items"]
    assert entry["resource"] == f"user:{user['id']}" and entry["detail"] == {"from": "user", "to": "guest"}
    page = admin.audit_log(first=1)
    assert len(page["items"]) == 1 and page["has_next_page"]


def test_audit_events_are_stored_once_and_malformed_ones_dropped(worker, engine, caplog):
    service = worker()
    event = {"id": str(uuid.uuid4()), "action": "document.delete", "actor": "user-1", "resource": "document:d1"}
    service.on_rag_audit(event)
    service.on_agent_audit(event)  # a redelivery, or the same event twice: one row
    assert service.record_audit(event={**event, "id": str(uuid.uuid4())}) is None
    assert len(audit_rows(engine, "document.delete")) == 2

    with caplog.at_level(logging.WARNING, logger="agenthub.auth"):
        service.on_gateway_audit({"action": ["not", "a", "string"]})  # acked and dropped, never redelivered
    assert any(r.getMessage() == "invalid audit event dropped" for r in caplog.records)


def test_an_event_the_database_cannot_store_is_raised_for_redelivery(worker, redis_client, redis_prefix, tmp_path):
    settings = ServiceSettings(env="development", redis_prefix=redis_prefix)
    gone = db.make_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'auth.db'}", pool_size=1)
    broken = AuthDomain.build(db.session_factory(gone), redis_client, settings)
    with pytest.raises(OperationalError):
        worker(service_domain=broken).on_rag_audit({"id": str(uuid.uuid4()), "action": "document.create"})
    gone.dispose()


def test_revocations_are_republished_on_request_and_by_the_timer(worker, domain, redis_client):
    service = worker()
    assert service.publish_revocations() is True  # the epoch is not this Redis run's
    assert service.publish_revocations() is False
    redis_client.delete(revocation_epoch_key(domain.prefix))  # Redis lost it
    service.keep_revocations_published()
    assert redis_client.get(revocation_epoch_key(domain.prefix)) is not None
    assert service.publish_revocations() is False


def test_the_revocation_timer_survives_redis_down(worker, redis_prefix, engine, caplog):
    settings = ServiceSettings(
        env="development", redis_prefix=redis_prefix, redis_url="redis://127.0.0.1:1/0", redis_retries=0
    )
    down = sync_client(settings)
    service = worker(service_domain=AuthDomain.build(db.session_factory(engine), down, settings))
    with caplog.at_level(logging.INFO, logger="agenthub.auth"):
        service.keep_revocations_published()  # no exception: the next tick tries again
    assert any(r.getMessage() == "revocations not republished yet" for r in caplog.records)
    down.close()


def test_the_purge_timer_deletes_rows_past_retention(worker, engine, clock):
    service = worker()
    old = (clock.now - timedelta(days=400)).timestamp()
    service.record_audit(event={"id": str(uuid.uuid4()), "action": "ancient", "at": old})
    service.record_audit(event={"id": str(uuid.uuid4()), "action": "recent"})
    service.purge_audit()
    assert audit_rows(engine, "ancient") == [] and len(audit_rows(engine, "recent")) == 1


def test_health_names_the_database_and_redis(worker, engine):
    report = worker().health()
    assert report["name"] == "auth" and report["status"] == "UP"
    assert {d["name"]: d["detail"] for d in report["dependencies"]}["database"] == engine.dialect.name
