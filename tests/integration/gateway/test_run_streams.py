"""``RunStreams`` on the real Redis: every relay of a gateway process is read on one connection,
so open runs never take the pooled connections the edge needs (rate limits, revocations), and
each relay still gets its run's events, in order, from where it asked."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from core.redis_client import async_client
from core.settings import CommonSettings
from gateway.graphql.agent import stream
from gateway.graphql.agent.stream import RunStreams, follow
from schema.agent import EventType, RunStatus, entry_id, run_events_key
from tests.support.stack import REDIS_URL

RELAYS = 40
POOL = 4  # the shared pool: ten times fewer connections than open relays


async def running() -> RunStatus:
    return RunStatus.RUNNING


async def until(condition, what: str, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not within {timeout} s: {what}")


@pytest.fixture
async def streams():
    settings = CommonSettings(env="development", redis_url=REDIS_URL, redis_pool_timeout=2)
    client = async_client(settings, max_connections=POOL)
    streams = RunStreams(
        client, async_client(settings, socket_timeout=5, max_connections=1), f"test-{uuid.uuid4().hex[:8]}:"
    )
    yield streams
    keys = [key async for key in client.scan_iter(f"{streams.wake_key.split('gateway:')[0]}*")]
    if keys:
        await client.delete(*keys)
    await streams.close()
    await client.aclose()


async def add(client, key: str, seq: int, type_: EventType, delta: str | None = None) -> None:
    fields = {"type": type_.value, "data": "{}", **({"delta": delta} if delta else {})}
    await client.xadd(key, fields, id=entry_id(seq))


async def test_forty_relays_share_one_connection_and_the_pool_stays_free(streams):
    prefix = streams.wake_key.split("gateway:")[0]
    writer = streams.client
    keys = [run_events_key(prefix, f"run{n}") for n in range(RELAYS)]
    for key in keys:
        await add(writer, key, 1, EventType.RUN_STARTED)

    async def relay(n: int) -> list[tuple[int, str]]:
        return [(e.seq, e.type.value) async for e in follow(streams, prefix, f"run{n}", 0, running)]

    relays = [asyncio.create_task(relay(n)) for n in range(RELAYS)]
    await until(lambda: streams.following == RELAYS, "every relay joined, waiting for its run's next event")
    await asyncio.sleep(0.2)
    # with one blocking XREAD per relay, the pool's 4 connections were all blocked: this waited 2 s, then failed
    assert await asyncio.wait_for(writer.ping(), 1)
    for seq in (2, 3):
        for key in keys:
            await add(writer, key, seq, EventType.TOKEN, delta=f"t{seq}")
    for key in keys:
        await add(writer, key, 4, EventType.RUN_FINISHED)
    seen = await asyncio.wait_for(asyncio.gather(*relays), 20)
    expected = [(1, "RUN_STARTED"), (2, "TOKEN"), (3, "TOKEN"), (4, "RUN_FINISHED")]
    assert all(events == expected for events in seen), seen[:3]
    assert streams.following == 0


async def test_a_late_relay_replays_from_where_it_asked_beside_a_live_one(streams):
    prefix = streams.wake_key.split("gateway:")[0]
    key = run_events_key(prefix, "shared")
    for seq in (1, 2, 3):
        await add(streams.client, key, seq, EventType.TOKEN, delta=f"t{seq}")

    async def relay(after: int) -> list[int]:
        return [e.seq async for e in follow(streams, prefix, "shared", after, running)]

    first = asyncio.create_task(relay(0))
    await until(lambda: streams.following == 1, "the first relay joined")
    await asyncio.sleep(0.1)  # the first one is blocked in the reader's XREAD: the second wakes it
    second = asyncio.create_task(relay(2))
    await until(lambda: streams.following == 2, "the second relay joined")
    await add(streams.client, key, 4, EventType.RUN_FINISHED)
    assert await asyncio.wait_for(first, 10) == [1, 2, 3, 4]
    assert await asyncio.wait_for(second, 10) == [3, 4]


async def test_a_relay_whose_client_reads_slowly_catches_up_by_itself(streams, monkeypatch):
    """More unsent events than ``MAX_PENDING``: the reader drops the relay rather than hold them all,
    and the relay reads the rest of its stream itself, then joins again."""
    monkeypatch.setattr(stream, "MAX_PENDING", 5)
    prefix = streams.wake_key.split("gateway:")[0]
    key = run_events_key(prefix, "busy")
    await add(streams.client, key, 1, EventType.RUN_STARTED)
    relay = follow(streams, prefix, "busy", 0, running)
    assert (await anext(relay)).seq == 1
    for seq in range(2, 40):  # written while the relay's client does not read
        await add(streams.client, key, seq, EventType.TOKEN, delta="x")
    await until(lambda: streams.following == 0, "the relay let go by the reader, six events pending")
    seqs = [(await anext(relay)).seq for _ in range(2, 40)]  # six handed over, the rest read by itself
    finishing = asyncio.ensure_future(anext(relay))  # nothing more to read: it joins the reader again
    await until(lambda: streams.following == 1, "the relay joined again")
    await add(streams.client, key, 40, EventType.RUN_FINISHED)
    last = await asyncio.wait_for(finishing, 10)
    assert seqs == list(range(2, 40)) and last.seq == 40 and last.type is EventType.RUN_FINISHED
    await relay.aclose()
    assert streams.following == 0
