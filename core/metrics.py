"""Prometheus metrics of every AgentHub process, declared once (``prometheus-client``).

Why one module: the hooks in the gateway and the services stay one line each,
and the metrics reference in docs/operations.md has one source to match.

Labels are bounded by construction: operation and method names come from code
or from the schema (an unknown GraphQL field is ``invalid``), outcomes are the
error codes of ``schema.errors`` (anything else is ``INTERNAL``) — never ids,
user names, paths or messages.

The gateway serves ``/metrics`` itself; a service process serves the default
registry on its own small HTTP port when ``AGENTHUB_METRICS_PORT`` is set
(``serve``). The default registry also carries the process collectors (CPU,
RSS, open file descriptors) and Python's GC collector.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import prometheus_client
from prometheus_client import CONTENT_TYPE_LATEST, Info, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric
from prometheus_client.utils import floatToGoString

from schema.errors import CODES

log = logging.getLogger("agenthub.metrics")


M = TypeVar("M", bound=MetricWrapperBase)


class _Children(MetricWrapperBase):
    """``labels(*values)`` answered from a dict of the children already made.

    prometheus-client checks its arguments, turns each value into a ``str`` and takes the
    metric's lock on every ``labels()`` call (about 1.5 µs, a third of what a request's metrics
    cost); the hooks call it per request with label sets that are bounded by construction, so
    this cache is bounded too and the children are the client's own (``remove``/``clear`` empty
    it)."""

    _children: dict[tuple[object, ...], Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._children = {}

    def labels(self: M, *labelvalues: object, **labelkwargs: object) -> M:
        if labelkwargs:
            return super().labels(*labelvalues, **labelkwargs)
        children: dict[tuple[object, ...], M] = self._children  # type: ignore[attr-defined]
        try:
            return children[labelvalues]
        except (KeyError, TypeError):  # a new label set (or an unhashable value: not cached)
            child = super().labels(*labelvalues)
        with contextlib.suppress(TypeError):
            children[labelvalues] = child
        return child

    def remove(self, *labelvalues: Any) -> None:
        self._children.clear()
        super().remove(*labelvalues)

    def remove_by_labels(self, labels: dict[str, str]) -> None:
        self._children.clear()
        super().remove_by_labels(labels)

    def clear(self) -> None:
        self._children.clear()
        super().clear()


class Counter(_Children, prometheus_client.Counter):
    pass


class Gauge(_Children, prometheus_client.Gauge):
    pass


class Histogram(_Children, prometheus_client.Histogram):
    pass


class _Off:
    """A metric that records nothing: ``AGENTHUB_METRICS_DISABLED=1`` (``bench/observability.py``'s baseline)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def labels(self, *args: object, **kwargs: object) -> _Off:
        return self

    def inc(self, *args: object, **kwargs: object) -> None:
        pass

    dec = set = observe = info = record = inc

    def time(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


_DISABLED = os.environ.get("AGENTHUB_METRICS_DISABLED", "").lower() in ("1", "true", "yes")
if _DISABLED:
    Counter = Gauge = Histogram = Info = _Off  # type: ignore[misc,assignment]

# RPCs answer in milliseconds; model calls and agent runs take seconds to minutes
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
SLOW_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)

# -- every process ------------------------------------------------------------
BUILD = Info("agenthub_build", "Version of the AgentHub process and what it runs.", ["component"])

# -- gateway ------------------------------------------------------------------


class CountTally:
    """A counter of the gateway's request path kept as a plain dict of counts by label values,
    exported by this collector at scrape time (see ``Operations`` for why). Updated by the
    gateway's event-loop thread only, so no lock."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str]) -> None:
        self.name, self.documentation, self.labelnames = name, documentation, list(labelnames)
        self.counts: dict[tuple[str, ...], int] = {}

    def inc(self, *labels: str) -> None:
        self.counts[labels] = self.counts.get(labels, 0) + 1

    def _family(self) -> Any:
        return CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)

    def describe(self) -> list[Metric]:
        return [self._family()]

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for labels, count in sorted(self.counts.items()):
            family.add_metric(list(labels), count)
        yield family


def _tally(collector: Any) -> Any:
    """``collector`` registered in the default registry, or a no-op when metrics are disabled."""
    if _DISABLED:
        return _Off()
    prometheus_client.REGISTRY.register(collector)
    return collector


# ``inc(route, method, status)``
HTTP_REQUESTS: CountTally | _Off = _tally(
    CountTally("agenthub_http_requests", "HTTP requests served by the gateway.", ["route", "method", "status"])
)
HTTP_DURATION = Histogram(
    "agenthub_http_request_duration_seconds",
    "HTTP request duration at the gateway, but /graphql (see agenthub_graphql_operation_duration_seconds).",
    ["route"],
    buckets=FAST_BUCKETS,
)
WEBSOCKETS = Gauge("agenthub_websocket_connections", "Open WebSocket connections at the gateway.")
SUBSCRIPTIONS = Gauge("agenthub_graphql_subscriptions_active", "GraphQL subscriptions running now.")


class Operations:
    """``agenthub_graphql_operations_total`` and ``agenthub_graphql_operation_duration_seconds``:
    one entry per (type, operation), a plain list of numbers (count, timed, sum, buckets),
    exported by this collector at scrape time.

    Why not a prometheus-client Counter and Histogram: on the request path of a real server their
    cost is cache misses (the child, its lock, its value, the buckets, five calls per observation):
    about 16 µs per operation between two requests' other work against 2-3 µs in a tight loop;
    this is one dict lookup and a few additions on one list. Updated by the gateway's event-loop
    thread only (``ErrorConvention``), so no lock; a scrape from the metrics port's thread may see
    an operation counted whose duration is not in yet."""

    def __init__(self, buckets: Sequence[float]) -> None:
        self.bounds = [*buckets, float("inf")]
        self.entries: dict[tuple[str, str], list[float]] = {}

    def record(self, kind: str, operation: str, seconds: float | None) -> None:
        """One operation ended; ``seconds`` None: not timed (a subscription's lifetime is not a latency)."""
        entry = self.entries.get((kind, operation))
        if entry is None:
            entry = self.entries.setdefault((kind, operation), [0.0] * (3 + len(self.bounds)))
        entry[0] += 1
        if seconds is not None:
            entry[1] += 1
            entry[2] += seconds
            entry[3 + bisect.bisect_left(self.bounds, seconds)] += 1

    def _families(self) -> tuple[Any, Any]:
        labels = ["type", "operation"]
        return (
            CounterMetricFamily(
                "agenthub_graphql_operations",
                "GraphQL operations, by type and root field ('multiple' when several).",
                labels=labels,
            ),
            HistogramMetricFamily(
                "agenthub_graphql_operation_duration_seconds", "GraphQL operation duration.", labels=labels
            ),
        )

    def describe(self) -> list[Metric]:
        return list(self._families())

    def collect(self) -> Iterator[Metric]:
        operations, durations = self._families()
        for (kind, operation), entry in sorted(self.entries.items()):
            operations.add_metric([kind, operation], entry[0])
            if entry[1]:
                cumulative, buckets = 0.0, []
                for bound, count in zip(self.bounds, entry[3:]):
                    cumulative += count
                    buckets.append((floatToGoString(bound), cumulative))  # type: ignore[no-untyped-call]
                durations.add_metric([kind, operation], buckets, entry[2])
        yield operations
        yield durations


OPERATIONS: Operations | _Off = _tally(Operations(FAST_BUCKETS))
GRAPHQL_ERRORS = Counter(
    "agenthub_graphql_errors_total", "GraphQL errors, by extensions.code.", ["type", "operation", "code"]
)
RPC_CALLS = Counter(
    "agenthub_rpc_client_calls_total",
    "RPC calls made, by service, method and outcome (ok, an error code, timeout, unavailable).",
    ["service", "method", "outcome"],
)
RPC_CALL_DURATION = Histogram(
    "agenthub_rpc_client_duration_seconds",
    "Duration of RPC calls made, until the reply.",
    ["service", "method"],
    buckets=FAST_BUCKETS,
)
RATE_LIMITED = Counter("agenthub_rate_limited_total", "Operations refused by the gateway's rate limit.", ["caller"])

# -- services -----------------------------------------------------------------
RPC_HANDLED = Counter(
    "agenthub_rpc_handled_total", "Entrypoint calls handled by a service, by outcome.", ["service", "method", "outcome"]
)
RPC_HANDLED_DURATION = Histogram(
    "agenthub_rpc_handled_duration_seconds",
    "Duration of an entrypoint call.",
    ["service", "method"],
    buckets=FAST_BUCKETS,
)
WORKERS_BUSY = Gauge("agenthub_workers_busy", "Nameko workers running now.", ["service"])
WORKERS_MAX = Gauge("agenthub_workers_max", "Nameko worker pool size (max_workers).", ["service"])
SEARCH_DURATION = Histogram(
    "agenthub_search_duration_seconds", "Document search duration in rag, by mode.", ["mode"], buckets=FAST_BUCKETS
)
CHUNKS_EMBEDDED = Counter("agenthub_chunks_embedded_total", "Document chunks embedded (rate: chunks per second).")
INGEST_STAGE_SECONDS = Counter(
    "agenthub_rag_ingest_stage_seconds_total",
    "Seconds rag ingestion spent per stage (claim, convert, embed, write, finish); embed: embedder lanes busy, "
    "summed; embed_cpu: the CPU seconds of that embedding.",
    ["stage"],
)
LLM_CALLS = Counter("agenthub_llm_calls_total", "Model calls, by backend and outcome.", ["backend", "outcome"])
LLM_DURATION = Histogram(
    "agenthub_llm_call_duration_seconds", "Model call duration.", ["backend"], buckets=SLOW_BUCKETS
)
LLM_TOKENS = Counter(
    "agenthub_llm_tokens_total", "Model tokens, by backend and kind (prompt, completion).", ["backend", "kind"]
)
AGENT_RUNS = Counter("agenthub_agent_runs_total", "Agent runs, by mode and outcome.", ["mode", "outcome"])
AGENT_STEPS = Counter("agenthub_agent_steps_total", "Agent steps (tool calls), by tool.", ["tool"])


# ``() -> ({status: count}, epoch of the oldest queued job or None)``
JobStats = Callable[[], tuple[dict[str, int], float | None]]


class IngestionJobs:
    """Ingestion jobs by status and the age of the oldest queued one, read from SQL at scrape
    time (``stats() -> ({status: count}, oldest queued epoch or None)``). Every rag instance
    reads the same table: aggregate with ``max``, not ``sum``."""

    def __init__(self, stats: JobStats) -> None:
        self.stats = stats

    def describe(self) -> list[Metric]:
        return []  # nothing to query when registering

    def collect(self) -> Iterator[Metric]:
        try:
            counts, oldest = self.stats()
        except Exception:  # the database is down: no series rather than a failed scrape
            log.warning("ingestion job metrics unavailable", exc_info=True)
            return
        jobs = GaugeMetricFamily(
            "agenthub_ingestion_jobs", "Ingestion jobs in the table, by status.", labels=["status"]
        )
        for status, count in sorted(counts.items()):
            jobs.add_metric([status], count)
        yield jobs
        yield GaugeMetricFamily(
            "agenthub_ingestion_oldest_queued_seconds",
            "Age of the oldest queued ingestion job (0: none queued).",
            value=max(0.0, time.time() - oldest) if oldest else 0.0,
        )


_jobs_registered = False
_jobs_lock = threading.Lock()


def register_ingestion_jobs(stats: JobStats) -> None:
    """Once per process (the registry refuses a second collector of the same names)."""
    global _jobs_registered
    from prometheus_client import REGISTRY

    with _jobs_lock:
        if not _jobs_registered:
            REGISTRY.register(IngestionJobs(stats))
            _jobs_registered = True


def code_of(error: BaseException | None) -> str:
    """``ok``, a conventional error code, or ``INTERNAL``: a bounded outcome label."""
    if error is None:
        return "ok"
    code = getattr(error, "code", None)
    return code if code in CODES else "INTERNAL"


@contextlib.contextmanager
def llm_call(backend: str) -> Iterator[None]:
    """Count and time one model call (``backend``: openai or local)."""
    started, outcome = time.perf_counter(), "ok"
    try:
        yield
    except BaseException:
        outcome = "error"
        raise
    finally:
        LLM_CALLS.labels(backend, outcome).inc()
        LLM_DURATION.labels(backend).observe(time.perf_counter() - started)


def agent_run(mode: str, backend: str, outcome: str, steps: Sequence[Any], usage: Any) -> None:
    """One ended agent run: its outcome, its steps by tool, the model's tokens."""
    AGENT_RUNS.labels(mode, outcome).inc()
    for step in steps or ():
        AGENT_STEPS.labels(step.tool).inc()
    if usage is not None and backend != "none":
        LLM_TOKENS.labels(backend, "prompt").inc(usage.prompt_tokens)
        LLM_TOKENS.labels(backend, "completion").inc(usage.completion_tokens)


def latest() -> tuple[bytes, str]:
    """The default registry in the text exposition format, and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST


_served: dict[str, int] = {}
_served_lock = threading.Lock()
PORT_ATTEMPTS = 32


def serve(port: int | None, host: str = "127.0.0.1") -> int | None:
    """Serve the registry on ``port`` once per process; returns the port bound.

    Several instances on one host cannot share a port: when ``port`` is taken the
    next free one (up to ``PORT_ATTEMPTS`` further) is used and logged, so each
    instance exports its own series at its own target. ``None``: no server.
    """
    if port is None:
        return None
    from prometheus_client import start_http_server

    with _served_lock:
        if "port" in _served:
            return _served["port"]
        for candidate in range(port, port + (PORT_ATTEMPTS if port else 1)):
            try:
                server, _thread = start_http_server(candidate, addr=host)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                continue
            bound = server.server_address[1]
            _served["port"] = bound
            log.info("metrics served", extra={"fields": {"url": f"http://{host}:{bound}/metrics"}})
            return bound
    log.warning("no free metrics port", extra={"fields": {"from": port, "attempts": PORT_ATTEMPTS}})
    return None
