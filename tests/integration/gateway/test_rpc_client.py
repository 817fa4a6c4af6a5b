"""The gateway's asyncio RPC client against real Nameko services on the real RabbitMQ."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid

import aio_pika
import pytest
import redis
from pamqp import commands

from gateway.amqp import ChannelClosed
from gateway.rpc import RpcClient
from schema.errors import NotFound, RemoteError, ServiceUnavailable
from tests.support.stack import RABBITMQCTL, REDIS_URL, ServiceProcess


@pytest.fixture
async def client(isolation):
    client = RpcClient(isolation.amqp_uri, default_timeout=10.0, name="test", max_backoff=0.5)
    await client.start(wait=10)
    assert client.connected
    yield client
    await client.close()


async def test_call_returns_the_result(client, echo_service):
    payload = {"text": "héllo", "n": [1, 2, 3], "nested": {"ok": True}}
    assert await client.call("echo", "echo", [payload]) == payload


async def test_concurrent_calls_get_their_own_replies(client, echo_service):
    results = await asyncio.gather(*(client.call("echo", "echo", [i]) for i in range(100)))
    assert results == list(range(100))


async def test_registered_remote_error_comes_back_as_its_own_type(client, echo_service):
    with pytest.raises(NotFound) as raised:
        await client.call("echo", "fail", ["no such thing"])
    assert raised.value.message == "no such thing"
    assert raised.value.extensions == {"code": "NOT_FOUND", "resource": "thing"}


async def test_unexpected_remote_error_is_a_remote_error(client, echo_service):
    with pytest.raises(RemoteError) as raised:
        await client.call("echo", "crash")
    assert raised.value.exc_type == "RuntimeError"


async def test_a_result_json_cannot_carry_is_an_error_and_the_service_goes_on(client, echo_service):
    """The reply is serialised once, by the service's own reply channel (services/common/rpc.py):
    what cannot be serialised becomes Nameko's UnserializableValueError, as with Nameko's responder."""
    with pytest.raises(RemoteError) as raised:
        await client.call("echo", "unserializable")
    assert raised.value.exc_type == "UnserializableValueError"
    assert await client.call("echo", "echo", ["still here"]) == "still here"


async def test_absent_service_fails_fast_instead_of_timing_out(client):
    # With a 30 s timeout, only the broker's return of the unroutable message
    # can produce ServiceUnavailable: a missed return would raise Timeout.
    with pytest.raises(ServiceUnavailable, match="not running"):
        await client.call("no_such_service", "health", timeout=30)


async def test_context_headers_arrive_in_the_service(client, echo_service):
    context = {
        "auth_token": "token-abc",
        "user_id": "user-42",
        "request_id": "req-0123456789",
        "call_id_stack": ["gateway.graphql.req-0123456789"],
    }
    seen = await client.call("echo", "context", context=context)
    assert seen["data"]["auth_token"] == "token-abc"
    assert seen["data"]["user_id"] == "user-42"
    assert seen["data"]["request_id"] == "req-0123456789"
    stack = seen["call_id_stack"]
    assert stack[0] == "gateway.graphql.req-0123456789"
    assert stack[-1].startswith("echo.context.")


async def _declare_service_queue(isolation, service: str) -> None:
    """What a stopped service leaves behind: its queue, with no consumer."""
    connection = await aio_pika.connect(isolation.amqp_uri)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange("nameko-rpc", aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(f"rpc-{service}", durable=True)
        await queue.bind(exchange, routing_key=f"{service}.*")


async def test_timed_out_request_never_runs_later(client, isolation):
    service = f"late_{uuid.uuid4().hex[:6]}"
    await _declare_service_queue(isolation, service)
    key = f"{isolation.redis_prefix}late:{uuid.uuid4().hex}"

    with pytest.raises(ServiceUnavailable, match="no instance is taking requests"):
        await client.call(service, "record", [key], timeout=0.5)

    # The service comes back after its caller gave up.
    late = ServiceProcess(isolation, "tests.support.echo_service", service, ECHO_SERVICE_NAME=service)
    try:
        late.wait_until_consuming()
        control = f"{isolation.redis_prefix}control:{uuid.uuid4().hex}"
        assert await client.call(service, "record", [control]) == control  # it runs what is current
        store = redis.Redis.from_url(REDIS_URL)
        assert store.get(control) == b"ran"
        assert store.get(key) is None, "a request whose caller timed out ran afterwards"
    finally:
        late.stop()


def _close_connection_from_broker(isolation, connection_name: str) -> None:
    listing = subprocess.run(
        [
            RABBITMQCTL,
            "-q",
            "list_connections",
            "-p",
            isolation.vhost,
            "pid",
            "client_properties",
            "--no-table-headers",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    pids = [
        line.split("\t", 1)[0] for line in listing.splitlines() if f'{{"connection_name","{connection_name}"}}' in line
    ]
    assert len(pids) == 1, f"connection {connection_name} not found in {listing}"
    subprocess.run([RABBITMQCTL, "-q", "close_connection", pids[0], "closed by test"], check=True, timeout=60)


async def test_recovers_after_the_broker_closes_its_connection(client, isolation, echo_service):
    service = f"stalled_{uuid.uuid4().hex[:6]}"
    await _declare_service_queue(isolation, service)
    pending = asyncio.create_task(client.call(service, "echo", [1], timeout=60))
    await asyncio.sleep(0.3)
    first_reply_key = client.reply_key

    await asyncio.to_thread(_close_connection_from_broker, isolation, client.connection_name)

    with pytest.raises(ServiceUnavailable, match="lost"):
        await asyncio.wait_for(pending, 10)  # fails at once, not after its 60 s
    for _ in range(100):
        if client.connected:
            break
        await asyncio.sleep(0.1)
    assert client.connected
    assert client.reconnects >= 1
    assert client.reply_key != first_reply_key  # a reply queue of its own per connection
    assert await client.call("echo", "echo", ["back"]) == "back"


async def test_a_connection_closing_under_a_call_is_service_unavailable(client, echo_service):
    """The broker's stop closes the connection a moment before the client hears of it (asyncio
    reports it lost on a later turn of the loop); a call in that moment must still be a coded
    ServiceUnavailable (with aiormq it was a RuntimeError, which clients saw as INTERNAL)."""
    client._connection.abort()  # connection_lost has not run yet: the client still says connected
    assert client.connected
    with pytest.raises(ServiceUnavailable):
        await client.call("echo", "echo", [1], timeout=5)
    for _ in range(100):  # then it reconnects by itself
        if client.connected and client.reconnects:
            break
        await asyncio.sleep(0.1)
    assert await client.call("echo", "echo", ["back"]) == "back"


async def test_an_event_is_confirmed_and_reaches_its_exchange(client, isolation):
    """publish_event returns once the broker confirmed the event; the exchange is declared on
    first use (on a channel of its own) and the event routed to a queue bound to it."""
    connection = await aio_pika.connect(isolation.amqp_uri)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange("probe_src.events", aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, routing_key="thing_happened")
        await client.publish_event("probe_src", "thing_happened", {"n": 1})
        await client.publish_event("probe_src", "thing_happened", {"n": 2})
        seen = [json.loads((await queue.get(timeout=5)).body) for _ in range(2)]
    assert seen == [{"n": 1}, {"n": 2}]


async def test_consumer_count_asks_on_a_side_channel_and_keeps_the_rpc_channel(client, isolation, echo_service):
    assert await client.consumer_count("echo") == 1
    assert await client.consumer_count(f"ghost_{uuid.uuid4().hex[:6]}") is None  # the broker closes that channel
    assert await client.call("echo", "echo", ["still"]) == "still"  # the RPC channel is untouched
    assert client.reconnects == 0


async def test_a_cancelled_consumer_count_closes_its_channel(client, echo_service):
    """A caller cancelled while its timed-out call asks for the consumer count (the HTTP client
    went away) must not leave the side channel open: each would hold a channel on the broker
    for the connection's life, up to its channel_max."""
    connection = client._connection
    for _ in range(3):
        asking = asyncio.ensure_future(client.consumer_count("echo"))
        await asyncio.sleep(0)  # channel.open sent
        asking.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asking
    for _ in range(50):  # the broker's answers to the opens and closes
        if not connection._waiters:
            break
        await asyncio.sleep(0.02)
    assert connection._open_channels == {1} and not connection._waiters
    assert await client.consumer_count("echo") == 1
    assert connection._open_channels == {1}


async def test_a_side_channel_closed_by_both_sides_at_once_is_freed_by_the_brokers_close_ok(client, caplog):
    """Our channel.close (a caller's timeout) crossing the broker's (404 on the passive declare):
    RabbitMQ answers ours with a close-ok after its own close, and the number is free only then."""
    connection = client._connection
    number = connection.free_channel()
    await connection.open_channel(number)
    declare = asyncio.ensure_future(
        connection.request(number, commands.Queue.Declare(queue=f"rpc-ghost_{uuid.uuid4().hex[:6]}", passive=True))
    )
    await asyncio.sleep(0)
    connection.release_channel(number)  # written before the broker's close can arrive
    with pytest.raises(ChannelClosed):
        await declare
    for _ in range(50):
        if not connection._waiters:
            break
        await asyncio.sleep(0.02)
    assert not connection._waiters and connection.free_channel() == number
    assert not [record for record in caplog.records if "unexpected" in record.getMessage()]
    assert await client.consumer_count("ghost") is None and client.reconnects == 0


async def test_heartbeats_keep_an_idle_connection(isolation, echo_service):
    """With a 1 s heartbeat the broker drops a client that stays silent for 2 s: this one sends
    its own heartbeats, so after 3.5 idle seconds it is still the same connection."""
    client = RpcClient(isolation.amqp_uri, name="heartbeat", heartbeat=1)
    await client.start(wait=10)
    try:
        await asyncio.sleep(3.5)
        assert client.connected and client.reconnects == 0
        assert await client.call("echo", "echo", ["awake"]) == "awake"
    finally:
        await client.close()
