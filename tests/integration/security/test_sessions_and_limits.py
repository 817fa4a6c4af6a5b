"""Issue 11, items 5, 6, 7 and 8: login throttling, budgets per owner and cost, revocation of
open subscriptions, shared health polls, production mode."""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.health import SharedHealth
from gateway.rpc import RpcClient
from tests.integration.security.conftest import LOGIN, PASSWORD, REGISTER, create_key, new_user
from tests.support.gateway import error_code, gateway_settings, gql


def login(client, username: str, password: str) -> str | None:
    return error_code(gql(client, LOGIN, {"i": {"username": username, "password": password}}))


def test_concurrent_guesses_get_exactly_the_limit_and_the_owner_is_not_locked_out(gateway, settings):
    name = f"t_{uuid.uuid4().hex[:8]}"
    gql(gateway, REGISTER, {"i": {"username": name, "password": PASSWORD}})
    with TestClient(create_app(settings), client=("203.0.113.7", 5000)) as attacker:
        with ThreadPoolExecutor(20) as pool:
            codes = list(pool.map(lambda i: login(attacker, name, f"wrong guess {i}"), range(20)))
        assert codes.count("UNAUTHENTICATED") == 5 and codes.count("RATE_LIMITED") == 15, codes
        assert login(attacker, name, PASSWORD) == "RATE_LIMITED"  # this address waits, right or wrong

        ghost = f"nobody_{uuid.uuid4().hex[:8]}"  # a username that does not exist: the same answers
        with ThreadPoolExecutor(20) as pool:
            codes = list(pool.map(lambda i: login(attacker, ghost, f"wrong guess {i}"), range(20)))
        assert codes.count("UNAUTHENTICATED") == 5 and codes.count("RATE_LIMITED") == 15, codes
    with TestClient(create_app(settings), client=("198.51.100.20", 5000)) as owner:
        assert login(owner, name, PASSWORD) is None  # the owner, from elsewhere: signed in


def test_the_delay_grows_for_an_address_that_keeps_guessing(isolation, stack):
    import redis

    from core.ratelimit import Limit
    from services.auth.throttle import LoginThrottle
    from tests.support.stack import REDIS_URL

    client = redis.Redis.from_url(REDIS_URL)
    throttle = LoginThrottle(
        client, f"{isolation.redis_prefix}grow:", pair=Limit(2, 60), ip=Limit(100, 60), username=Limit(100, 3600)
    )
    now = time.time()
    delays = []
    for _ in range(3):  # three rounds: spend the window, get refused, wait out the delay
        while throttle.reserve("victim", "192.0.2.1", now=now).allowed:
            pass
        refused = throttle.reserve("victim", "192.0.2.1", now=now)
        delays.append(refused.retry_after)
        client.delete(f"{isolation.redis_prefix}grow:rl:login:penalty:" + throttle._pair("victim", "192.0.2.1"))
        now += refused.retry_after + 61
    assert delays == [60, 120, 240]
    client.close()


def test_one_budget_per_owner_counted_by_cost_across_aliases(isolation, stack):
    settings = gateway_settings(
        isolation, rate_limit_authenticated="25/minute", api_key_cache_seconds=0, rate_limit_anonymous="100000/minute"
    )
    with TestClient(create_app(settings)) as client:
        _, token = new_user(client)
        keys = [create_key(client, token, ["READ_RAG"]) for _ in range(3)]  # 3 calls of 1
        two_asks = '{ a: ask(question: "refund?") { answer } b: ask(question: "refund?") { answer } }'
        assert error_code(gql(client, two_asks, token=keys[0])) != "RATE_LIMITED"  # 20 of the 22 left
        for credential in (keys[1], keys[2], token):  # more keys buy nothing: the owner's budget is spent
            assert error_code(gql(client, '{ a: ask(question: "x") { answer } }', token=credential)) == "RATE_LIMITED"
        assert error_code(gql(client, "{ me { id } }", token=keys[1])) != "RATE_LIMITED"  # 1 unit still fits


def _subscribe(ws, op_id: str, query: str) -> None:
    ws.send_json({"id": op_id, "type": "subscribe", "payload": {"query": query}})


def test_logout_and_deactivation_end_open_subscriptions_within_a_second(gateway, admin_token):
    results = {}
    for how in ("logout", "deactivate"):
        user_id, token = new_user(gateway)
        with gateway.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
            assert ws.receive_json()["type"] == "connection_ack"
            _subscribe(ws, "1", "subscription { health(intervalSeconds: 1) { status } }")
            assert ws.receive_json()["type"] == "next"
            if how == "logout":
                assert gql(gateway, "mutation { logout }", token=token)["data"]["logout"] is True
            else:
                done = gql(
                    gateway,
                    "mutation($u: ID!) { setUserActive(userId: $u, active: false) { id } }",
                    {"u": user_id},
                    token=admin_token,
                )
                assert not done.get("errors"), done
            revoked_at = time.monotonic()
            while True:
                message = ws.receive_json()
                if message["type"] == "next" and not message["payload"].get("errors"):
                    continue  # an event already on its way
                break
            results[how] = time.monotonic() - revoked_at
            errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED", message
    print(f"subscription ended after: {results}")
    assert all(seconds < 1.5 for seconds in results.values()), results


def test_subscriptions_are_capped_per_connection(gateway):
    with gateway.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json()["type"] == "connection_ack"
        for i in range(10):
            _subscribe(ws, str(i), "subscription { health(intervalSeconds: 3600) { status } }")
            assert ws.receive_json()["type"] == "next"
        _subscribe(ws, "over", "subscription { health(intervalSeconds: 3600) { status } }")
        message = ws.receive_json()
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "RATE_LIMITED", message


def test_health_subscribers_share_one_poll(isolation, stack):
    async def scenario() -> int:
        rpc = RpcClient(isolation.amqp_uri, default_timeout=5)
        await rpc.start(wait=10)
        shared = SharedHealth(rpc, timeout=2.0, ttl=1.0)
        try:

            async def subscriber():
                for _ in range(3):  # health(intervalSeconds: 1), three events
                    await shared.statuses()
                    await asyncio.sleep(1)

            await asyncio.gather(*(subscriber() for _ in range(40)))
            return shared.polls
        finally:
            await rpc.close()

    polls = asyncio.run(scenario())
    print(f"40 subscribers x 3 events: {polls} polls ({polls * 3} RPCs) instead of 120 polls")
    assert polls <= 5


def test_production_serves_no_introspection_unless_allowed(isolation, stack):
    secret = "s" * 40
    query = "{ __schema { queryType { name } } }"
    with TestClient(create_app(gateway_settings(isolation, env="production", jwt_secret=secret))) as client:
        body = gql(client, query)
        assert error_code(body) == "BAD_USER_INPUT" and body["data"] is None
    with TestClient(
        create_app(gateway_settings(isolation, env="production", jwt_secret=secret, introspection=True))
    ) as client:
        assert gql(client, query)["data"]["__schema"]["queryType"]["name"] == "Query"


def test_a_subscription_ends_at_its_maximum_lifetime(isolation, stack):
    settings = gateway_settings(isolation, subscription_max_seconds=1.5, rate_limit_anonymous="100000/minute")
    with TestClient(create_app(settings)) as client:
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init"})
            assert ws.receive_json()["type"] == "connection_ack"
            started = time.monotonic()
            _subscribe(ws, "1", "subscription { health(intervalSeconds: 1) { status } }")
            while (message := ws.receive_json())["type"] == "next":
                pass
            assert message == {"id": "1", "type": "complete"}
            assert 1.4 < time.monotonic() - started < 4


def test_a_key_without_read_agent_cannot_start_a_run_over_the_socket(gateway):
    _, token = new_user(gateway)
    key = create_key(gateway, token, ["WRITE_AGENT"])
    with gateway.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        _subscribe(ws, "1", 'subscription { agentRun(input: {message: "SELECT everything"}) { type } }')
        message = ws.receive_json()
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "FORBIDDEN" and errors[0]["extensions"]["requires"] == "READ_AGENT"
    conversations = gql(gateway, "{ conversations { nodes { id } } }", token=token)
    assert conversations.get("data") and conversations["data"]["conversations"]["nodes"] == [], conversations
