"""A subscription whose client leaves stops its stream at once (``gateway.graphql.live``), with the
real Redis behind its lease.

Before, the step awaiting the stream's next item was left running: ``aclose`` on a stream in use
fails, so an ``ingestionProgress`` of a job waiting in the queue, or a run waiting on its model, went
on in the background, uncounted by the subscription caps, until its next item came; then its task
logged "Task exception was never retrieved" (seen in ``bench/agent.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from types import SimpleNamespace

import pytest
from redis.asyncio import Redis
from starlette.websockets import WebSocket

from gateway.graphql.live import RevocationWatch, SubscriptionLeases, live
from gateway.settings import GatewaySettings
from tests.support.stack import REDIS_URL


@pytest.fixture
async def redis():
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


def info_over_a_socket(redis: Redis, prefix: str) -> SimpleNamespace:
    async def nothing(*_):  # the socket is never read or written here
        return {}

    state = SimpleNamespace(live=RevocationWatch(redis, prefix), leases=SubscriptionLeases(redis, prefix))
    socket = WebSocket({"type": "websocket", "app": SimpleNamespace(state=state), "headers": []}, nothing, nothing)
    context = SimpleNamespace(
        request=socket,
        settings=GatewaySettings(env="development"),
        client_ip="192.0.2.7",
        open_subscriptions=0,
        claims=None,
    )
    return SimpleNamespace(context=context)


async def test_a_subscription_whose_client_leaves_stops_its_stream_at_once(redis):
    info = info_over_a_socket(redis, f"test-{uuid.uuid4().hex[:8]}:")
    closed = asyncio.Event()

    async def queued_job():
        try:
            yield "QUEUED"
            await asyncio.Event().wait()  # no change for as long as the job waits
        finally:
            closed.set()

    subscription = live(info, queued_job())
    assert await anext(subscription) == "QUEUED"
    waiting = asyncio.ensure_future(anext(subscription))
    await asyncio.sleep(0.05)  # inside the stream, awaiting its next item
    waiting.cancel()  # the client left: Strawberry cancels the subscription's task
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    await subscription.aclose()
    await asyncio.wait_for(closed.wait(), 2)
    assert info.context.request.app.state.leases.held == 0
    assert info.context.open_subscriptions == 0
