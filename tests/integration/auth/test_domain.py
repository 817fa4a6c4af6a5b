"""The auth domain against SQLite and the real PostgreSQL, with the real Redis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from core.tokens import (
    api_key_revoked_key,
    identity_from_claims,
    is_revoked,
    revocation_keys,
    session_revoked_key,
    user_version_key,
)
from schema.auth import ApiKeyInput, AuditFilter, LoginInput, PageArgs, RegisterInput
from schema.errors import BadUserInput, Conflict, Forbidden, NotFound, RateLimited, Unauthenticated
from schema.models import AuditEvent
from schema.validation import parse
from services.auth import db
from services.auth.accounts import create_admin
from services.auth.common import RequestMeta
from services.auth.models import ApiKey, AuditRow, RefreshToken, Session, User

PASSWORD = "correct horse battery"
META = RequestMeta(ip="203.0.113.7", user_agent="pytest", request_id="req-1")


def register(domain, username="alice", password=PASSWORD, email=None, meta=META):
    return domain.users.register(
        parse(RegisterInput, {"username": username, "password": password, "email": email}), meta
    )


def login(domain, username="alice", password=PASSWORD, meta=META):
    return domain.sessions.login(parse(LoginInput, {"username": username, "password": password}), meta)


def identity(domain, access_token):
    return identity_from_claims(domain.codec.verify(access_token))


def revoked(domain, access_token) -> bool:
    claims = domain.codec.verify(access_token)
    return is_revoked(claims, domain.redis.mget(revocation_keys(domain.prefix, claims)))


def admin_identity(domain, engine, username="root"):
    create_admin(db.session_factory(engine), username, PASSWORD, settings=domain.settings)
    return identity(domain, login(domain, username).access_token)


def audit_actions(engine) -> list[tuple[str, str]]:
    with db.session_factory(engine)() as session:
        return [(r.action, r.outcome) for r in session.scalars(select(AuditRow).order_by(AuditRow.at))]


# -- accounts ---------------------------------------------------------------------------


def test_register_and_login_issue_a_verifiable_token(domain, engine):
    user = register(domain, "Alice", email="alice@example.com")
    assert user.role.value == "user" and user.active and user.email == "alice@example.com"
    pair = login(domain, "ALICE")
    claims = domain.codec.verify(pair.access_token)
    assert claims["sub"] == user.id and claims["role"] == "user" and claims["name"] == "Alice"
    assert claims["ver"] == 0 and claims["sid"]
    assert pair.expires_in == domain.settings.access_token_ttl and pair.token_type == "Bearer"
    assert domain.users.me(identity(domain, pair.access_token)).username == "Alice"
    with db.session_factory(engine)() as session:
        stored = session.scalar(select(User))
        assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
    assert ("register", "success") in audit_actions(engine) and ("login", "success") in audit_actions(engine)


def test_duplicate_username_is_a_conflict_case_insensitively(domain):
    register(domain, "Alice")
    with pytest.raises(Conflict) as raised:
        register(domain, "aLICE")
    assert raised.value.details["fields"] == {"username": "is already taken"}


def test_wrong_and_unknown_logins_fail_alike(domain, engine):
    register(domain)
    with pytest.raises(Unauthenticated) as wrong:
        login(domain, password="not the password")
    with pytest.raises(Unauthenticated) as unknown:
        login(domain, username="nobody")
    assert wrong.value.message == unknown.value.message
    assert audit_actions(engine).count(("login", "failure")) == 2


def test_password_is_rehashed_when_parameters_change(make_domain, engine):
    register(make_domain())
    with db.session_factory(engine)() as session:
        before = session.scalar(select(User.password_hash))
    stronger = make_domain(password_time_cost=2, password_memory_cost=2048, password_parallelism=1)
    login(stronger)
    with db.session_factory(engine)() as session:
        after = session.scalar(select(User.password_hash))
    assert after != before and "t=2" in after and "m=2048" in after
    login(stronger)  # and the new hash verifies


# -- refresh tokens and sessions ------------------------------------------------------


def test_refresh_rotates_and_reuse_ends_the_session(domain, engine, redis_client):
    register(domain)
    first = login(domain)
    second = domain.sessions.refresh(first.refresh_token, META)
    assert second.refresh_token != first.refresh_token
    third = domain.sessions.refresh(second.refresh_token, META)
    with pytest.raises(Unauthenticated) as raised:
        domain.sessions.refresh(first.refresh_token, META)  # replayed
    assert raised.value.details["reason"] == "reuse"
    sid = domain.codec.verify(third.access_token)["sid"]
    assert redis_client.exists(session_revoked_key(domain.prefix, sid))
    assert revoked(domain, third.access_token)
    with pytest.raises(Unauthenticated):
        domain.sessions.refresh(third.refresh_token, META)  # the newest one died with the session
    with db.session_factory(engine)() as session:
        assert session.get(Session, sid).revoked_at is not None
        hashes = set(session.scalars(select(RefreshToken.token_hash)))
    assert not {first.refresh_token, second.refresh_token} & hashes  # only hashes are stored
    assert ("refresh.reuse", "denied") in audit_actions(engine)


def test_refresh_token_expires_with_its_session(domain, clock):
    register(domain)
    pair = login(domain)
    clock.advance(domain.settings.refresh_token_ttl + 1)
    with pytest.raises(Unauthenticated) as raised:
        domain.sessions.refresh(pair.refresh_token, META)
    assert raised.value.details["reason"] == "expired"


def test_logout_revokes_the_session_and_its_tokens(domain, redis_client):
    register(domain)
    pair = login(domain)
    me = identity(domain, pair.access_token)
    assert domain.sessions.logout(me, META) is True
    assert revoked(domain, pair.access_token)
    ttl = redis_client.ttl(session_revoked_key(domain.prefix, me.session_id))
    assert 0 < ttl <= domain.settings.access_token_ttl + 60
    with pytest.raises(Unauthenticated):
        domain.sessions.refresh(pair.refresh_token, META)


def test_sessions_list_marks_the_current_one_and_only_owners_revoke(domain):
    register(domain)
    register(domain, "bob")
    one, two = login(domain), login(domain, meta=RequestMeta(ip="198.51.100.1", user_agent="other"))
    me = identity(domain, one.access_token)
    listed = domain.sessions.sessions(me)
    assert len(listed) == 2 and [s.current for s in listed].count(True) == 1
    assert next(s for s in listed if s.current).id == me.session_id
    bob = identity(domain, login(domain, "bob").access_token)
    other = identity(domain, two.access_token).session_id
    with pytest.raises(NotFound):
        domain.sessions.revoke_session(bob, other, META)
    assert domain.sessions.revoke_session(me, other, META)
    assert [s.id for s in domain.sessions.sessions(me)] == [me.session_id]
    assert revoked(domain, two.access_token) and not revoked(domain, one.access_token)


# -- admin operations ------------------------------------------------------------------


def test_role_change_bumps_the_version_and_refresh_reads_the_new_role(domain, engine, redis_client):
    root = admin_identity(domain, engine)
    user = register(domain)
    pair = login(domain)
    changed = domain.users.set_user_role(root, user.id, "guest", META)
    assert changed.role.value == "guest" and changed.permissions == ["manage:account", "read:agent"]
    assert redis_client.get(user_version_key(domain.prefix, user.id)) == b"1"
    assert revoked(domain, pair.access_token)
    fresh = domain.sessions.refresh(pair.refresh_token, META)
    claims = domain.codec.verify(fresh.access_token)
    assert claims["role"] == "guest" and claims["ver"] == 1 and not revoked(domain, fresh.access_token)
    with pytest.raises(BadUserInput) as raised:
        domain.users.set_user_role(root, user.id, "emperor", META)
    assert "role" in raised.value.details["fields"]
    with pytest.raises(BadUserInput) as raised:
        domain.users.set_user_role(root, root.user_id, "user", META)
    assert "userId" in raised.value.details["fields"]
    with pytest.raises(NotFound):
        domain.users.set_user_role(root, "no-such-user", "user", META)


def test_deactivation_stops_tokens_logins_refreshes_and_api_keys(domain, engine):
    root = admin_identity(domain, engine)
    user = register(domain)
    pair = login(domain)
    me = identity(domain, pair.access_token)
    key = domain.api_keys.create_api_key(me, ApiKeyInput(name="ci", scopes=["read:rag"]), META).key
    grant = domain.api_keys.authenticate_api_key(key, META)
    assert not revoked(domain, grant.access_token)

    domain.users.set_user_active(root, user.id, False, META)
    assert revoked(domain, pair.access_token) and revoked(domain, grant.access_token)
    for attempt in (
        lambda: login(domain),
        lambda: domain.sessions.refresh(pair.refresh_token, META),
        lambda: domain.api_keys.authenticate_api_key(key, META),
    ):
        with pytest.raises(Unauthenticated):
            attempt()
    with pytest.raises(BadUserInput) as raised:
        domain.users.set_user_active(root, root.user_id, False, META)
    assert "userId" in raised.value.details["fields"]

    domain.users.set_user_active(root, user.id, True, META)
    again = login(domain)
    assert not revoked(domain, again.access_token)
    with pytest.raises(Unauthenticated):  # sessions ended by the deactivation stay ended
        domain.sessions.refresh(pair.refresh_token, META)
    actions = audit_actions(engine)
    assert ("user.deactivate", "success") in actions and ("user.activate", "success") in actions


def test_users_search_and_pages(domain, engine):
    root = admin_identity(domain, engine)
    for i in range(7):
        register(domain, f"member{i}", email=f"Member{i}@Example.org")
    register(domain, "zed", email="z@other.net")
    seen, after = [], None
    while True:
        page = domain.users.users(PageArgs(first=3, after=after))
        seen += [u.username for u in page.items]
        if not page.has_next_page:
            break
        after = page.end_cursor
    assert seen == sorted(seen, key=str.lower) and len(seen) == 9 and "root" in seen
    assert [u.username for u in domain.users.users(PageArgs(), "EXAMPLE.org").items] == [f"member{i}" for i in range(7)]
    assert [u.username for u in domain.users.users(PageArgs(), "ZE").items] == ["zed"]
    assert domain.users.users(PageArgs(), "%").items == []  # a wildcard is a character, not a pattern
    with pytest.raises(BadUserInput) as raised:
        domain.users.users(PageArgs(after="garbage!"))
    assert "after" in raised.value.details["fields"]
    assert root.can("manage:users")


def test_create_admin(engine, domain):
    sessions = db.session_factory(engine)
    admin = create_admin(sessions, "Root", PASSWORD, settings=domain.settings)
    assert admin.role.value == "admin" and "manage:users" in admin.permissions
    with pytest.raises(Conflict):
        create_admin(sessions, "root", PASSWORD, settings=domain.settings)
    with pytest.raises(BadUserInput) as raised:
        create_admin(sessions, "x", "short", settings=domain.settings)
    assert set(raised.value.details["fields"]) == {"username", "password"}
    assert domain.codec.verify(login(domain, "root").access_token)["role"] == "admin"


# -- API keys ---------------------------------------------------------------------------


def test_api_key_scopes_must_be_a_subset_and_expiry_in_the_future(domain, engine, clock):
    root = admin_identity(domain, engine)
    user = register(domain)
    domain.users.set_user_role(root, user.id, "guest", META)
    guest = identity(domain, login(domain).access_token)
    with pytest.raises(BadUserInput) as raised:
        domain.api_keys.create_api_key(guest, ApiKeyInput(name="k", scopes=["read:agent", "write:rag"]), META)
    assert "write:rag" in raised.value.details["fields"]["scopes"]
    with pytest.raises(BadUserInput) as raised:
        domain.api_keys.create_api_key(
            guest, ApiKeyInput(name="k", scopes=["read:agent"], expires_at=clock.now - timedelta(seconds=1)), META
        )
    assert "expiresAt" in raised.value.details["fields"]
    created = domain.api_keys.create_api_key(guest, ApiKeyInput(name="k", scopes=["read:agent"]), META)
    assert created.key.startswith(f"ah_{created.api_key.id}_")
    keyed = identity(domain, domain.api_keys.authenticate_api_key(created.key, META).access_token)
    with pytest.raises(Forbidden):
        domain.api_keys.create_api_key(keyed, ApiKeyInput(name="k2", scopes=["read:agent"]), META)


def test_api_key_grant_carries_scopes_and_updates_last_use(domain, engine):
    register(domain)
    me = identity(domain, login(domain).access_token)
    created = domain.api_keys.create_api_key(me, ApiKeyInput(name="ci", scopes=["read:rag", "read:agent"]), META)
    grant = domain.api_keys.authenticate_api_key(created.key, META)
    claims = domain.codec.verify(grant.access_token)
    assert claims["akid"] == created.api_key.id and claims["scp"] == ["read:agent", "read:rag"]
    assert claims["exp"] - claims["iat"] == domain.settings.api_key_token_ttl
    assert grant.cache_until <= claims["exp"] and grant.user_id == me.user_id
    keyed = identity_from_claims(claims)
    assert keyed.permissions == {"read:agent", "read:rag"} and keyed.actor_type.value == "api_key"
    listed = domain.api_keys.api_keys(me)
    assert [k.id for k in listed] == [created.api_key.id] and listed[0].last_used_at is not None
    secret = created.key[36:]
    assert len(secret) == 43 and created.key == f"ah_{created.api_key.id}_{secret}"
    with db.session_factory(engine)() as session:
        assert secret not in session.scalar(select(ApiKey.secret_hash))
    assert domain.users.me(keyed).permissions == ["read:agent", "read:rag"]


def test_wrong_revoked_and_expired_api_keys_are_refused(domain, redis_client, clock):
    register(domain)
    register(domain, "bob")
    me = identity(domain, login(domain).access_token)
    bob = identity(domain, login(domain, "bob").access_token)
    created = domain.api_keys.create_api_key(me, ApiKeyInput(name="a", scopes=["read:rag"]), META)
    for bad in [created.key[:-2] + "xx", "ah_" + "0" * 32 + "_secret", "not-a-key", "", None, "ah_" * 100]:
        with pytest.raises(Unauthenticated):
            domain.api_keys.authenticate_api_key(bad, META)
    grant = domain.api_keys.authenticate_api_key(created.key, META)
    with pytest.raises(NotFound):
        domain.api_keys.revoke_api_key(bob, created.api_key.id, META)
    assert domain.api_keys.revoke_api_key(me, created.api_key.id, META)
    # kept until the key would have expired anyway (a key without expiresAt lives at most 365 days)
    assert 365 * 86400 <= redis_client.ttl(api_key_revoked_key(domain.prefix, created.api_key.id)) <= 365 * 86400 + 60
    assert revoked(domain, grant.access_token)
    with pytest.raises(Unauthenticated) as raised:
        domain.api_keys.authenticate_api_key(created.key, META)
    assert raised.value.details["reason"] == "revoked"
    assert domain.api_keys.api_keys(me)[0].revoked

    expiring = domain.api_keys.create_api_key(
        me, ApiKeyInput(name="b", scopes=["read:rag"], expires_at=clock.now + timedelta(seconds=100)), META
    )
    grant = domain.api_keys.authenticate_api_key(expiring.key, META)
    assert grant.cache_until <= clock.now.timestamp() + 100
    clock.advance(101)
    with pytest.raises(Unauthenticated) as raised:
        domain.api_keys.authenticate_api_key(expiring.key, META)
    assert raised.value.details["reason"] == "expired"


# -- limits -------------------------------------------------------------------------------


def test_login_failures_are_limited_per_username_even_for_the_right_password(make_domain, engine):
    domain = make_domain(login_user_rate_limit="3/minute")
    register(domain)
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            login(domain, password="wrong password")
    for password in ("wrong password", PASSWORD):
        with pytest.raises(RateLimited) as raised:
            login(domain, password=password)
        assert 1 <= raised.value.extensions["retryAfter"] <= 60
    assert ("rate_limited", "denied") in audit_actions(engine)
    register(domain, "bob")
    login(domain, "bob")  # another username is not affected


def test_login_failures_are_limited_per_ip(make_domain):
    domain = make_domain(login_ip_rate_limit="4/minute")
    for i in range(4):
        with pytest.raises(Unauthenticated):
            login(domain, username=f"user{i}", password="wrong password")
    with pytest.raises(RateLimited):
        login(domain, username="someone-else", password="wrong password")
    elsewhere = RequestMeta(ip="198.51.100.9")
    with pytest.raises(Unauthenticated):
        login(domain, username="someone-else", password="wrong password", meta=elsewhere)


def test_a_successful_login_clears_the_username_failures(make_domain):
    domain = make_domain(login_user_rate_limit="3/minute")
    register(domain)
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            login(domain, password="wrong password")
    login(domain)
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            login(domain, password="wrong password")


def test_register_is_limited_per_ip(make_domain):
    domain = make_domain(register_rate_limit="2/hour")
    register(domain, "one")
    register(domain, "two")
    with pytest.raises(RateLimited) as raised:
        register(domain, "three")
    assert raised.value.extensions["retryAfter"] > 60
    register(domain, "three", meta=RequestMeta(ip="198.51.100.20"))


# -- audit -----------------------------------------------------------------------------------


def test_audit_log_filters_and_pages(domain, clock):
    for i in range(25):
        domain.audit.record_audit(
            AuditEvent(
                action="document.delete" if i % 2 else "document.create",
                actor=f"user-{i % 3}",
                actor_type="user",
                resource=f"document:{i}",
                at=clock.now.timestamp() + i,
                detail={"n": str(i)},
            )
        )
    seen, after = [], None
    while True:
        page = domain.audit.audit_log(AuditFilter(), PageArgs(first=10, after=after))
        seen += page.items
        if not page.has_next_page:
            break
        after = page.end_cursor
    assert len(seen) == 25 == len({e.id for e in seen})
    assert [e.at for e in seen] == sorted((e.at for e in seen), reverse=True)
    deletes = domain.audit.audit_log(AuditFilter(action="document.delete"), PageArgs(first=100)).items
    assert len(deletes) == 12 and all(e.action == "document.delete" for e in deletes)
    mine = domain.audit.audit_log(AuditFilter(actor="user-1"), PageArgs(first=100)).items
    assert {e.actor for e in mine} == {"user-1"} and len(mine) == 8
    since = clock.now + timedelta(seconds=20)
    recent = domain.audit.audit_log(AuditFilter(since=since), PageArgs(first=100)).items
    assert sorted(int(e.detail["n"]) for e in recent) == [20, 21, 22, 23, 24]
    window = domain.audit.audit_log(
        AuditFilter(since=clock.now, until=clock.now + timedelta(seconds=2)), PageArgs(first=100)
    ).items
    assert sorted(int(e.detail["n"]) for e in window) == [0, 1, 2]


def test_audit_details_that_look_secret_are_redacted(domain):
    domain.audit.record_audit(
        AuditEvent(action="odd", detail={"password": "hunter22", "apiToken": "t0ken", "ok": "yes"})
    )
    entry = domain.audit.audit_log(AuditFilter(action="odd"), PageArgs()).items[0]
    assert entry.detail == {"password": "[redacted]", "apiToken": "[redacted]", "ok": "yes"}


def test_no_secret_in_any_row(domain, engine):
    root = admin_identity(domain, engine)
    user = register(domain, email="alice@example.com")
    pair = login(domain)
    with pytest.raises(Unauthenticated):
        login(domain, password="the-wrong-secret-1")
    refreshed = domain.sessions.refresh(pair.refresh_token, META)
    with pytest.raises(Unauthenticated):
        domain.sessions.refresh(pair.refresh_token, META)
    me = identity(domain, login(domain).access_token)
    created = domain.api_keys.create_api_key(me, ApiKeyInput(name="ci", scopes=["read:rag"]), META)
    grant = domain.api_keys.authenticate_api_key(created.key, META)
    domain.api_keys.revoke_api_key(me, created.api_key.id, META)
    domain.sessions.logout(me, META)
    domain.users.set_user_role(root, user.id, "guest", META)
    domain.users.set_user_active(root, user.id, False, META)
    secrets_seen = [
        PASSWORD,
        "the-wrong-secret-1",
        pair.refresh_token,
        refreshed.refresh_token,
        pair.access_token,
        refreshed.access_token,
        created.key,
        created.key[36:],
        grant.access_token,
    ]
    dump = ""
    with engine.connect() as connection:
        for table in ["users", "sessions", "refresh_tokens", "api_keys", "audit_events"]:
            dump += "\n".join(repr(tuple(row)) for row in connection.execute(text(f"SELECT * FROM {table}")))
    for secret in secrets_seen:
        assert secret not in dump
    actions = {a for a, _ in audit_actions(engine)}
    assert {
        "register",
        "login",
        "refresh",
        "refresh.reuse",
        "logout",
        "api_key.create",
        "api_key.revoke",
        "user.role",
        "user.deactivate",
        "admin.create",
    } <= actions


# -- Redis rebuilt from the database ----------------------------------------------------------


def test_revocations_are_republished_after_redis_lost_them(domain, engine, redis_client):
    root = admin_identity(domain, engine)
    user = register(domain)
    register(domain, "bob")
    pair = login(domain)
    bob_pair = login(domain, "bob")
    bob = identity(domain, bob_pair.access_token)
    created = domain.api_keys.create_api_key(bob, ApiKeyInput(name="k", scopes=["read:rag"]), META)
    grant = domain.api_keys.authenticate_api_key(created.key, META)
    domain.api_keys.revoke_api_key(bob, created.api_key.id, META)
    domain.sessions.logout(bob, META)
    domain.users.set_user_role(root, user.id, "guest", META)
    stolen = [pair.access_token, bob_pair.access_token, grant.access_token]
    assert all(revoked(domain, token) for token in stolen)

    redis_client.delete(*redis_client.scan_iter(f"{domain.prefix}*"))  # a Redis restart
    assert not any(revoked(domain, token) for token in stolen)
    counts = domain.revocations.republish_revocations()
    assert counts == {"userVersions": 1, "sessions": 1, "apiKeys": 1}
    assert all(revoked(domain, token) for token in stolen)
