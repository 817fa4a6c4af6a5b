"""Dependency providers: adapters that build their clients once, in ``setup()``.

Nothing connects at import time, so importing a service (tests, ``nameko
shell``) never needs a running server.

One Redis pool per process: every provider that needs Redis (``Redis``, the
caller's ``CallerProvider``, each service's domain provider) declares
``pool = RedisPool()``, a Nameko ``SharedExtension``: the container binds one
instance for all of them, and ``nameko run`` runs one service container per
process.
"""

from __future__ import annotations

import logging
import time
from types import TracebackType
from typing import Any

import redis
from nameko.extensions import DependencyProvider, SharedExtension
from nameko.rpc import Rpc

from core import __version__, metrics, tracing
from core.redis_client import sync_client
from services.common.health import BUSY
from services.common.settings import get_settings

log = logging.getLogger("agenthub.rpc")

QUIET_METHODS = frozenset({"health"})


class RedisPool(SharedExtension):
    """The process's one redis-py client (a blocking connection pool, thread-safe, greened).

    Built on first use rather than in ``setup()``: the container sets its extensions up
    concurrently, and a provider's ``setup()`` may need Redis already (auth republishes
    revocations there). Building it does no I/O, so two green threads cannot both build
    one. Closed in ``stop()``, which Nameko runs after every provider's ``stop()``.
    """

    _client: redis.Redis | None = None

    def client(self) -> redis.Redis:
        # a method, not a property: Nameko's bind() reads every attribute of an extension
        if self._client is None:
            self._client = sync_client(get_settings())
        return self._client

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class Redis(DependencyProvider):
    """Injects the process's shared Redis client (``RedisPool``)."""

    pool = RedisPool()

    def get_dependency(self, worker_ctx: Any) -> redis.Redis:
        return self.pool.client()


class RequestLog(DependencyProvider):
    """One structured log line per RPC: request id, user id, operation, duration, outcome.

    Also the services' one metrics hook: entrypoint calls, their duration and the
    busy workers; its ``setup`` starts the process's metrics server when configured.
    """

    def setup(self) -> None:
        settings = get_settings()
        metrics.serve(settings.metrics_port, settings.metrics_host)
        tracing.configure(self.container.service_name)
        service = self.container.service_name
        metrics.WORKERS_MAX.labels(service).set(self.container.max_workers)
        metrics.BUILD.labels(service).info({"version": __version__})

    def stop(self) -> None:
        tracing.shutdown()

    def worker_setup(self, worker_ctx: Any) -> None:
        worker_ctx._agenthub_started = time.perf_counter()
        name = f"{worker_ctx.service_name}.{worker_ctx.entrypoint.method_name}"
        span = tracing.start(name, worker_ctx.data.get("traceparent"), kind="server")
        worker_ctx._agenthub_span = span
        worker_ctx.data["traceparent"] = span.context.traceparent  # calls made from here are its children
        tracing.bind(span.context, worker_ctx.data.get("request_id"))  # this worker's green thread only
        metrics.WORKERS_BUSY.labels(worker_ctx.service_name).inc()
        BUSY[worker_ctx.service_name] += 1

    def worker_result(
        self,
        worker_ctx: Any,
        result: Any = None,
        exc_info: tuple[type[BaseException], BaseException, TracebackType] | None = None,
    ) -> None:
        ended = time.perf_counter()
        elapsed = ended - getattr(worker_ctx, "_agenthub_started", ended)
        error = exc_info[1] if exc_info else None
        code = metrics.code_of(error)
        service, method = worker_ctx.service_name, worker_ctx.entrypoint.method_name
        span = getattr(worker_ctx, "_agenthub_span", None)
        if span is not None:
            span.end(error if code == "INTERNAL" else None)
        metrics.RPC_HANDLED.labels(service, method, code).inc()
        metrics.RPC_HANDLED_DURATION.labels(service, method).observe(elapsed)
        fields = {
            "request_id": worker_ctx.data.get("request_id"),
            "trace_id": span.context.trace_id if span else None,
            "user_id": worker_ctx.data.get("user_id"),
            "operation": f"{service}.{method}",
            "duration_ms": round(elapsed * 1000, 2),
            "outcome": "ok" if error is None else getattr(error, "code", type(error).__name__),
        }
        unexpected = error is not None and not hasattr(error, "code")
        if unexpected:
            level = logging.ERROR
        elif error is None and (
            worker_ctx.entrypoint.method_name in QUIET_METHODS or not isinstance(worker_ctx.entrypoint, Rpc)
        ):
            level = logging.DEBUG  # health polls and timers: periodic, say something only when it matters
        else:
            level = logging.INFO  # a client mistake is one line with its code, no traceback
        log.log(level, "rpc", extra={"fields": fields}, exc_info=exc_info if unexpected else None)

    def worker_teardown(self, worker_ctx: Any) -> None:
        metrics.WORKERS_BUSY.labels(worker_ctx.service_name).dec()
        BUSY[worker_ctx.service_name] -= 1

    def get_dependency(self, worker_ctx: Any) -> None:
        return None
