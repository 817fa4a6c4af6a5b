"""``@status_probe``: every instance of every service answers ``agenthub status``, each exactly once.

Why: the RPC queue ``rpc-<service>`` is shared, so asking ``health`` over it
reaches *some* instance, and with several the status command could only ask
a few times and hope to meet each. Here each service container also consumes
from a queue of its own (exclusive, auto-delete: it goes when the process or
its connection does) bound to the fanout exchange ``agenthub.status``. One
request published there reaches every live instance; each runs the decorated
method (its ``health``) and replies to the request's ``reply_to`` queue with
the request's ``correlation_id``. ``agenthub status`` collects the replies
until every consumer counted on the RPC queues has answered or a short deadline.

Built on Nameko's ``Consumer`` entrypoint (``services.common.consumers``: the shared ``QueueConsumer``);
the reply goes through the process's one reply channel (``services.common.rpc``).
"""

from __future__ import annotations

import json
import logging
import uuid
from functools import partial
from typing import Any

from kombu import Exchange, Queue
from nameko import rpc as nameko_rpc

from services.common.consumers import Consumer
from services.common.rpc import _ReplyChannel

log = logging.getLogger("agenthub.status")

STATUS_EXCHANGE = "agenthub.status"


def status_exchange() -> Exchange:
    """Declared the same way by the services and by ``agenthub status``."""
    return Exchange(STATUS_EXCHANGE, type="fanout", durable=True, auto_delete=False)


class StatusProbe(Consumer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queue=None, **kwargs)

    def setup(self) -> None:
        # named when the container starts, not at import: two containers of one service in one
        # process (tests) each get their own queue
        name = f"agenthub.status.{self.container.service_name}.{uuid.uuid4().hex[:12]}"
        self.queue = Queue(name, status_exchange(), exclusive=True, auto_delete=True, durable=False)
        config = self.container.config
        self._replies = _ReplyChannel(
            config[nameko_rpc.AMQP_URI_CONFIG_KEY],
            ssl=config.get(nameko_rpc.AMQP_SSL_CONFIG_KEY),
            login_method=config.get(nameko_rpc.LOGIN_METHOD_CONFIG_KEY),
        )
        super().setup()

    def stop(self) -> None:
        super().stop()
        self._replies.close()

    def handle_message(self, body: Any, message: Any) -> None:
        handle_result = partial(self._reply, message)
        try:
            self.container.spawn_worker(self, (), {}, context_data={}, handle_result=handle_result)
        except Exception:  # the container is stopping: nothing to report
            self.queue_consumer.ack_message(message)

    def _reply(self, message: Any, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> tuple[Any, Any]:
        reply_to = message.properties.get("reply_to")
        try:
            if reply_to:
                if exc_info is not None:
                    result = {
                        "name": self.container.service_name,
                        "status": "DOWN",
                        "detail": f"{type(exc_info[1]).__name__}: {exc_info[1]}"[:200],
                    }
                self._replies.publish(
                    json.dumps(result).encode(),
                    exchange="",
                    routing_key=reply_to,
                    correlation_id=message.properties.get("correlation_id"),
                    content_type="application/json",
                    content_encoding="utf-8",
                )
        except Exception as error:  # the asker has gone (its queue with it) or the broker is away
            log.warning("could not answer a status request: %s: %s", type(error).__name__, error)
        self.queue_consumer.ack_message(message)
        return result, exc_info


status_probe = StatusProbe.decorator
