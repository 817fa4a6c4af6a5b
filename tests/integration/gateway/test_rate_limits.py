"""Rate limits per owner, in cost units per GraphQL operation, atomic in Redis."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from starlette.testclient import TestClient

from core.tokens import TokenCodec
from gateway.app import create_app
from tests.support.accounts import mark_revocations_published
from tests.support.gateway import error_code, gateway_settings, gql

HEALTH = "{ health { status } }"


def limited_gateway(isolation, **limits):
    prefix = f"{isolation.redis_prefix}{uuid.uuid4().hex[:6]}:"
    mark_revocations_published(prefix)  # auth publishes under the isolation's own prefix only
    return create_app(gateway_settings(isolation, redis_prefix=prefix, **limits))


def test_fifty_simultaneous_calls_against_a_limit_of_ten_let_exactly_ten_through(isolation, stack):
    with TestClient(limited_gateway(isolation, rate_limit_anonymous="10/minute")) as client:
        with ThreadPoolExecutor(max_workers=50) as pool:
            bodies = list(pool.map(lambda _: gql(client, HEALTH), range(50)))
    codes = [error_code(body) for body in bodies]
    assert codes.count(None) == 10
    assert codes.count("RATE_LIMITED") == 40
    limited = next(body for body in bodies if error_code(body))
    assert 1 <= limited["errors"][0]["extensions"]["retryAfter"] <= 60
    assert limited["data"] is None


def test_aliases_count_each(isolation, stack):
    with TestClient(limited_gateway(isolation, rate_limit_anonymous="5/minute")) as client:
        aliased = "{ a: health { status } b: health { status } c: health { status } d: health { status } }"
        assert error_code(gql(client, aliased)) is None  # four fields, four units
        assert error_code(gql(client, HEALTH)) is None
        assert error_code(gql(client, HEALTH)) == "RATE_LIMITED"
        assert error_code(gql(client, aliased)) == "RATE_LIMITED"


def test_an_operation_dearer_than_the_whole_budget_takes_all_of_it(isolation, stack):
    with TestClient(limited_gateway(isolation, rate_limit_anonymous="3/minute")) as client:
        aliased = "{ a: health { status } b: health { status } c: health { status } d: health { status } }"
        assert error_code(gql(client, aliased)) is None
        assert error_code(gql(client, HEALTH)) == "RATE_LIMITED"


def test_limits_are_per_principal(isolation, stack):
    codec = TokenCodec(gateway_settings(isolation))
    alice = codec.issue(subject=str(uuid.uuid4()), role="user", session_id="a").token
    bob = codec.issue(subject=str(uuid.uuid4()), role="user", session_id="b").token
    with TestClient(limited_gateway(isolation, rate_limit_authenticated="2/minute")) as client:
        assert error_code(gql(client, HEALTH, token=alice)) is None
        assert error_code(gql(client, HEALTH, token=alice)) is None
        assert error_code(gql(client, HEALTH, token=alice)) == "RATE_LIMITED"
        assert error_code(gql(client, HEALTH, token=bob)) is None  # Bob has his own budget
        assert error_code(gql(client, HEALTH)) is None  # and anonymous callers theirs, per IP


def test_subscriptions_count_too(isolation, stack):
    with TestClient(limited_gateway(isolation, rate_limit_anonymous="1/minute")) as client:
        assert error_code(gql(client, HEALTH)) is None
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init"})
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_json(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": "subscription { health(intervalSeconds: 1) { status } }"},
                }
            )
            message = ws.receive_json()
            errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors")
            assert errors and errors[0]["extensions"]["code"] == "RATE_LIMITED", message
