"""The per-address subscription cap holds across gateway processes (leases in Redis), and a killed
gateway's subscriptions stop counting within the lease time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import time
from collections.abc import Iterator

import pytest
import redis
from websockets.sync.client import ClientConnection, connect

from core.redis_client import async_client
from gateway.graphql.live import SubscriptionLeases
from gateway.settings import GatewaySettings
from schema.errors import ServiceUnavailable
from tests.support.gateway import GatewayProcess
from tests.support.servers import wait_until
from tests.support.stack import REDIS_URL

CAP, LEASE = 3, 2.0
PREFIX = "capshared:"  # added to the isolation's: the other security tests' subscriptions, from the
# same 127.0.0.1 through the shared test gateway, neither count here nor are counted
HEALTH = "subscription { health(intervalSeconds: 3600) { status } }"


@pytest.fixture(scope="module")
def gateways(isolation):
    """Two gateways alone (no services: a health event still comes, every service DOWN)."""
    env = dict(
        AGENTHUB_MAX_SUBSCRIPTIONS_PER_IP=str(CAP),
        AGENTHUB_SUBSCRIPTION_LEASE_SECONDS=str(LEASE),
        AGENTHUB_READY_TIMEOUT="0.2",
        AGENTHUB_REDIS_PREFIX=isolation.redis_prefix + PREFIX,
        AGENTHUB_RATE_LIMIT_ANONYMOUS="100000/minute",
    )
    started = [GatewayProcess(isolation, **env), GatewayProcess(isolation, **env)]
    try:
        yield [g.wait_ready(timeout=180, path="/healthz") for g in started]
    finally:
        for g in started:
            if g.process.poll() is None:
                g.stop()


@contextlib.contextmanager
def socket_to(gateway: GatewayProcess) -> Iterator[ClientConnection]:
    with connect(
        f"ws://127.0.0.1:{gateway.port}/graphql", subprotocols=["graphql-transport-ws"], open_timeout=10
    ) as ws:
        ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        yield ws


def subscribe(ws: ClientConnection, op_id: str) -> str | None:
    """None when the subscription is open (its first event came), else the refusal's error code."""
    ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": {"query": HEALTH}}))
    while True:
        message = json.loads(ws.recv(timeout=10))
        if message.get("id") != op_id:
            continue
        if message["type"] == "next" and not message["payload"].get("errors"):
            return None
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        return errors[0]["extensions"]["code"]


def leases(isolation) -> int:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        return sum(
            client.zcount(key, time.time() * 1000, "+inf")
            for key in client.scan_iter(f"{isolation.redis_prefix}{PREFIX}subs:ip:*")
        )
    finally:
        client.close()


def test_the_cap_holds_across_gateways_and_a_killed_gateway_stops_counting(gateways, isolation):
    first, second = gateways
    with socket_to(first) as a, socket_to(second) as b:
        assert subscribe(a, "a1") is None and subscribe(a, "a2") is None
        assert subscribe(b, "b1") is None
        assert subscribe(b, "b2") == "RATE_LIMITED"  # 2 on one gateway + 1 on the other = the cap
        assert subscribe(a, "a3") == "RATE_LIMITED"

        a.send(json.dumps({"id": "a2", "type": "complete"}))  # closing one frees its place everywhere
        wait_until(lambda: leases(isolation) == 2, 10, "the closed subscription's lease released")
        assert subscribe(b, "b3") is None
        assert subscribe(b, "b4") == "RATE_LIMITED"

        first.process.send_signal(signal.SIGKILL)  # a1 is held by a gateway that cannot release it
        first.process.wait(timeout=10)
        killed = time.monotonic()
        attempts = iter(range(1000))
        wait_until(
            lambda: subscribe(b, f"retry{next(attempts)}") is None,
            LEASE * 3,
            "the killed gateway's lease expired",
            interval=0.1,
        )
        freed = time.monotonic() - killed
        print(f"a killed gateway's subscription stopped counting after {freed:.2f} s (lease {LEASE} s)")
        assert freed <= LEASE + 2.0  # expired LEASE s after its last renewal at the latest
        assert subscribe(b, "over") == "RATE_LIMITED"  # and the cap still holds on the survivor
        assert leases(isolation) == CAP


def test_live_leases_are_renewed_while_the_gateway_lives(gateways, isolation):
    survivor = gateways[1]
    assert survivor.process.poll() is None
    with socket_to(survivor) as ws:
        wait_until(lambda: leases(isolation) == 0, 10, "the earlier subscriptions released")
        assert subscribe(ws, "long") is None
        watched_until = time.monotonic() + LEASE * 2.5  # renewed every lease/3: never lapses meanwhile
        while time.monotonic() < watched_until:
            assert leases(isolation) == 1
            time.sleep(0.1)  # observing over a span of time: nothing to wait for
    wait_until(lambda: leases(isolation) == 0, 10, "the lease released when the socket closed")


def test_redis_down_is_service_unavailable_naming_redis():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here

    async def scenario() -> ServiceUnavailable:
        settings = GatewaySettings(env="development", redis_url=f"redis://127.0.0.1:{port}/0", redis_retries=1)
        client = async_client(settings)
        try:
            with pytest.raises(ServiceUnavailable) as refused:
                await SubscriptionLeases(client, "x:", 1.0).take("192.0.2.1", 5)
            return refused.value
        finally:
            await client.aclose()

    error = asyncio.run(scenario())
    assert error.code == "SERVICE_UNAVAILABLE" and error.details == {"dependency": "redis"}
