"""Nameko's queue consumers, noticing a stop within a quarter of a second instead of a second.

Why: Nameko's ``QueueConsumer`` (kombu's ``ConsumerMixin``) waits up to ``safety_interval``,
one second, in ``drain_events`` before it sees a consumer to cancel or its own stop. A service's
stop waits for that three times in a row: the entrypoints' consumers (``@rpc``, the status
probe, ``@event_handler``), then the RPC proxy's reply listener, then the consumer threads'
exit. Every service took 2-3 s to stop after SIGTERM; with a quarter of a second, 0.7-1.1 s
(auth, agent, rag, on 2 cores with AVX2), in every rolling upgrade and every test stack.

The price is an idle consumer waking four times a second instead of once, to find nothing to
do: +0.25 % of a core per idle service process (measured over 20 s; 0.1 s stopped in 0.3-0.4 s
but cost +0.65 %, which rag pays beside the embedder while it ingests). Waking the consumer's
thread on a stop instead is not safe: it runs message callbacks inside ``drain_events``.

Every consumer of a service is declared from here: ``QueueConsumer`` is shared by class, so the
status probe, the event handlers and the RPC proxy's replies keep sharing one connection.
"""

from __future__ import annotations

from typing import Any

from eventlet.event import Event
from nameko import events, messaging
from nameko import rpc as nameko_rpc

STOP_CHECK_SECONDS = 0.25


class _SentOnce(Event):
    """Nameko's "last provider unregistered" event, sent once however many providers report it."""

    def send(self, result: Any = None, exc: Any = None) -> None:
        if not self.ready():
            super().send(result, exc)


class QueueConsumer(messaging.QueueConsumer):
    """Also: a stop during the start no longer hangs the process. Nameko sends its "last provider
    unregistered" event once per provider while the consumer is not ready yet, so a consumer of
    several providers (auth's event handlers and status probe) raised AssertionError on the second
    one and the stop never ended (seen in CI: a SIGTERM right after the RPC queue was consumed)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._last_provider_unregistered = _SentOnce()

    def consume(
        self, limit: Any = None, timeout: Any = None, safety_interval: float = STOP_CHECK_SECONDS, **kwargs: Any
    ) -> Any:  # kombu's generator
        return super().consume(limit=limit, timeout=timeout, safety_interval=safety_interval, **kwargs)


class Consumer(messaging.Consumer):
    queue_consumer = QueueConsumer()


class EventHandler(events.EventHandler):
    queue_consumer = QueueConsumer()


class ReplyListener(nameko_rpc.ReplyListener):
    queue_consumer = QueueConsumer()


class RpcProxy(nameko_rpc.RpcProxy):
    rpc_reply_listener = ReplyListener()


event_handler = EventHandler.decorator
