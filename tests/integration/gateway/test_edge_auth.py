"""Attacks on the gateway's token check: every one must fail with UNAUTHENTICATED."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.testclient import TestClient

from core.settings import DEVELOPMENT_JWT_SECRET
from core.tokens import TokenCodec, session_revoked_key, user_version_key
from gateway.app import create_app
from tests.support.accounts import create_admin
from tests.support.gateway import error_code, gateway_settings, gql
from tests.support.stack import REDIS_URL

ME = "{ me { id } }"


@pytest.fixture(scope="module")
def codec(settings):
    return TokenCodec(settings)


@pytest.fixture(scope="module")
def make_user(isolation):
    return lambda name: create_admin(isolation, name)


@pytest.fixture(scope="module")
def user_id(make_user):
    return make_user("edge_user")


def claims(**overrides):
    now = int(time.time())
    base = {
        "sub": str(uuid.uuid4()),
        "role": "admin",
        "name": "mallory",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 600,
        "iss": "agenthub",
        "aud": "agenthub-api",
        "typ": "access",
        "ver": 0,
        "sid": uuid.uuid4().hex,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def assert_unauthenticated(gateway, token: str, reason: str | None = None):
    body = gql(gateway, ME, token=token)
    assert error_code(body) == "UNAUTHENTICATED", body
    assert body["data"] is None
    if reason:
        assert body["errors"][0]["extensions"].get("reason") == reason


def test_a_valid_token_passes_the_edge(gateway, codec, user_id):
    token = codec.issue(subject=user_id, role="admin", session_id=uuid.uuid4().hex).token
    body = gql(gateway, ME, token=token)
    assert body["data"]["me"]["id"] == user_id, body


def test_no_token_is_unauthenticated(gateway):
    assert error_code(gql(gateway, ME)) == "UNAUTHENTICATED"


def test_alg_none_is_refused(gateway):
    token = jwt.encode(claims(), key=None, algorithm="none")
    assert_unauthenticated(gateway, token, "invalid")


def test_wrong_key_is_refused(gateway):
    assert_unauthenticated(gateway, jwt.encode(claims(), "x" * 48, algorithm="HS256"), "invalid")


def test_another_algorithm_is_refused_even_with_the_right_secret(gateway):
    assert_unauthenticated(gateway, jwt.encode(claims(), DEVELOPMENT_JWT_SECRET, algorithm="HS512"), "invalid")


def test_rs256_token_is_refused_by_an_hs256_deployment(gateway):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_unauthenticated(gateway, jwt.encode(claims(), private, algorithm="RS256"), "invalid")


def test_expired_token_is_refused(gateway):
    now = int(time.time())
    token = jwt.encode(claims(iat=now - 3600, exp=now - 1800), DEVELOPMENT_JWT_SECRET, algorithm="HS256")
    assert_unauthenticated(gateway, token, "expired")


@pytest.mark.parametrize(
    "claim,value",
    [("aud", "someone-else"), ("iss", "evil"), ("typ", "refresh"), ("sid", None), ("ver", None), ("exp", None)],
)
def test_wrong_or_missing_claims_are_refused(gateway, claim, value):
    token = jwt.encode(claims(**{claim: value}), DEVELOPMENT_JWT_SECRET, algorithm="HS256")
    assert_unauthenticated(gateway, token, "invalid")


def test_tampered_claims_are_refused(gateway, codec):
    token = codec.issue(subject=str(uuid.uuid4()), role="guest", session_id=uuid.uuid4().hex).token
    header, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    assert_unauthenticated(gateway, f"{header}.{forged}.{signature}", "invalid")


def test_revoked_session_is_refused_at_once(gateway, codec, settings, user_id):
    session = uuid.uuid4().hex
    token = codec.issue(subject=user_id, role="admin", session_id=session).token
    assert gql(gateway, ME, token=token)["data"]["me"]["id"] == user_id
    redis.Redis.from_url(REDIS_URL).set(session_revoked_key(settings.redis_prefix, session), 1, ex=60)
    assert_unauthenticated(gateway, token, "revoked")


def test_tokens_from_before_a_role_change_or_deactivation_are_refused(gateway, codec, settings, make_user):
    user = make_user("edge_versioned")
    token = codec.issue(subject=user, role="admin", session_id=uuid.uuid4().hex, version=0).token
    assert gql(gateway, ME, token=token)["data"]["me"]["id"] == user
    redis.Redis.from_url(REDIS_URL).set(user_version_key(settings.redis_prefix, user), 1, ex=60)
    assert_unauthenticated(gateway, token, "revoked")


def test_malformed_authorization_and_overlong_credentials_are_refused(gateway):
    body = gql(gateway, ME, headers={"authorization": "Basic dXNlcjpwYXNz"})
    assert error_code(body) == "UNAUTHENTICATED"
    assert_unauthenticated(gateway, "a" * 5000)


def test_public_fields_still_answer_with_a_bad_token(gateway):
    body = gql(gateway, "{ health { status } }", token="garbage")
    assert body["data"]["health"]["status"] == "UP"


def test_rs256_deployment_refuses_hs256_signed_with_its_public_key(isolation, stack, tmp_path):
    """Only the gateway's check is exercised here (the services run HS256)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "public.pem").write_bytes(public_pem)
    (tmp_path / "private.pem").write_bytes(private_pem)
    settings = gateway_settings(
        isolation,
        jwt_algorithm="RS256",
        jwt_public_key_file=tmp_path / "public.pem",
        jwt_private_key_file=tmp_path / "private.pem",
    )
    with TestClient(create_app(settings)) as client:
        good = TokenCodec(settings).issue(subject=str(uuid.uuid4()), role="user", session_id="s1").token
        passed = gql(client, ME, token=good)  # past the edge: the service, on HS256, refuses it itself
        assert "requires" not in passed["errors"][0]["extensions"], passed
        # The classic confusion: HMAC keyed with the public key the server verifies with.
        header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
        body = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=")
        signature = base64.urlsafe_b64encode(
            hmac.new(public_pem, header + b"." + body, hashlib.sha256).digest()
        ).rstrip(b"=")
        assert_unauthenticated(client, (header + b"." + body + b"." + signature).decode(), "invalid")


def _window_size(settings, name: str) -> int:
    return redis.Redis.from_url(REDIS_URL).zcard(f"{settings.redis_prefix}rl:{name}")


def test_a_revoked_token_spends_the_address_budget_not_the_owners(gateway, codec, settings, user_id):
    """Revocation and the rate limit share one round trip (EdgeAuthenticator.admit): a revoked
    token is charged like an anonymous caller, so it cannot spend its owner's budget."""
    session = uuid.uuid4().hex
    token = codec.issue(subject=user_id, role="admin", session_id=session).token
    owner, address = f"user:{user_id}", "ip:testclient"
    before_owner = _window_size(settings, owner)
    assert gql(gateway, ME, token=token)["data"]["me"]["id"] == user_id
    assert _window_size(settings, owner) == before_owner + 1
    redis.Redis.from_url(REDIS_URL).set(session_revoked_key(settings.redis_prefix, session), 1, ex=60)
    before_address = _window_size(settings, address)
    assert_unauthenticated(gateway, token, "revoked")
    assert _window_size(settings, owner) == before_owner + 1
    assert _window_size(settings, address) == before_address + 1


@pytest.mark.parametrize(
    "version,session_revoked,key_revoked",
    [
        (None, False, False),
        (0, False, False),
        (1, False, False),
        (None, True, False),
        (None, False, True),
        (0, True, True),
        (2, True, False),
    ],
)
async def test_the_admission_script_charges_the_window_is_revoked_picks(
    isolation, version, session_revoked, key_revoked
):
    """The script picks the window from the revocation facts; ``is_revoked`` decides acceptance from
    the same facts. Both must agree on every combination."""
    from core.ratelimit import AsyncLimiter, Limit
    from core.redis_client import async_client
    from core.tokens import api_key_revoked_key, is_revoked, revocation_epoch_key, revocation_keys
    from gateway.auth import EdgeAuthenticator, Verified

    settings = gateway_settings(isolation, redis_prefix=f"{isolation.redis_prefix}admit-{uuid.uuid4().hex[:6]}:")
    prefix = settings.redis_prefix
    client = async_client(settings)
    try:
        edge, limiter = EdgeAuthenticator(settings, client, rpc=None), AsyncLimiter(client, prefix)
        codec = TokenCodec(settings)
        issued = codec.issue(
            subject=str(uuid.uuid4()), role="user", session_id=uuid.uuid4().hex, api_key_id=uuid.uuid4().hex
        )
        verified = Verified(issued.token, codec.verify(issued.token))
        limit = Limit(100, 60)
        owner, address = ("user:x", limit, 3), ("ip:y", limit, 1)
        assert await edge.admit(verified, limiter, owner, address) is None  # no epoch: nothing charged
        assert await client.zcard(limiter.key("user:x")) == await client.zcard(limiter.key("ip:y")) == 0
        await client.set(revocation_epoch_key(prefix), "run")
        if version is not None:
            await client.set(user_version_key(prefix, verified.claims["sub"]), version)
        if session_revoked:
            await client.set(session_revoked_key(prefix, verified.claims["sid"]), 1)
        if key_revoked:
            await client.set(api_key_revoked_key(prefix, verified.claims["akid"]), 1)
        admission = await edge.admit(verified, limiter, owner, address)
        revoked = is_revoked(verified.claims, await client.mget(revocation_keys(prefix, verified.claims)))
        assert revoked == (version not in (None, 0) or session_revoked or key_revoked)
        assert (admission.authenticated is None) == revoked
        assert (admission.error is not None) == revoked
        assert admission.decision.allowed
        assert await client.zcard(limiter.key("user:x")) == (0 if revoked else 3)
        assert await client.zcard(limiter.key("ip:y")) == (1 if revoked else 0)
    finally:
        await client.aclose()
