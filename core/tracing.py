"""One trace across HTTP and the RPC bus: W3C ``traceparent``, and OpenTelemetry spans
when an exporter is configured.

* The gateway takes the incoming ``traceparent`` (or starts a trace), and each RPC
  it makes carries a child's ``traceparent`` in the Nameko context headers
  (``nameko.traceparent``). A service's worker continues it and replaces it with
  its own span, so its own calls (agent → rag) and the model call are children.
* Every log line carries ``trace_id`` and ``request_id`` (a log record factory reads
  them from a context variable; ``core.logs`` prints them).
* Spans are exported only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (OTLP over
  HTTP; the standard ``OTEL_*`` variables apply) or a test passes an exporter.
  Otherwise no OpenTelemetry code is imported: ids are random hex and a span is
  a small object (near-zero cost, ``bench/observability.py`` measures it).
* Exporting, the default sampler is parent-based with a trace-id ratio of
  ``DEFAULT_RATIO`` for the traces we start (``OTEL_TRACES_SAMPLER`` and
  ``OTEL_TRACES_SAMPLER_ARG`` override it): a caller's sampling decision is kept,
  and a span whose parent is not sampled takes the no-exporter path above — an
  unsampled request costs what it costs without OpenTelemetry.
* With that sampler (any parent-based one whose root is a trace-id ratio), ``start``
  makes the root's decision itself, as the SDK's ``TraceIdRatioBased`` would for the
  trace id it draws: an unsampled new trace takes the no-exporter path too (the SDK
  spent about 5 µs of CPU building a span that records nothing), and a sampled one is
  started by the SDK with that trace id (``_PresetTraceIds``), so the ratio is exact.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import random
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("agenthub.tracing")
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@dataclass(frozen=True, slots=True)
class TraceContext:
    trace_id: str
    span_id: str
    flags: str = "01"

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


def parse(traceparent: Any) -> TraceContext | None:
    """A well-formed W3C ``traceparent`` (version 00, ids not all zero), else None."""
    if not isinstance(traceparent, str):
        return None
    match = TRACEPARENT.match(traceparent.strip().lower())
    if match is None or match[1] == "0" * 32 or match[2] == "0" * 16:
        return None
    return TraceContext(match[1], match[2], match[3])


# What the current request, worker or run is part of: read by the log record factory.
current: contextvars.ContextVar[TraceContext | None] = contextvars.ContextVar("trace", default=None)
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_request_id", default=None)

_tracer: Any = None  # an OpenTelemetry tracer when exporting, else None
_provider: Any = None
# Whether the sampler is parent-based (the default, and any ``parentbased_*``): then a child of
# an unsampled parent is never recorded, and ``start`` skips OpenTelemetry for it.
_parent_based = False
# When the parent-based sampler's root is a trace-id ratio: its bound (a new trace is sampled when
# the low 64 bits of its id are under it), so ``start`` decides for a new trace without the SDK.
_root_bound: int | None = None
_LOW_64 = (1 << 64) - 1
_preset = threading.local()  # the trace id ``start`` drew for a sampled new trace (green-local under eventlet)

# The share of the traces we start that are exported, unless ``OTEL_TRACES_SAMPLER`` says
# otherwise. Exporting a trace costs 60-250 us of CPU (building, serialising and posting its
# spans: bench/observability.py), 7-25 % of a cheap request; at one in ten an operation with one
# RPC still paid 5-6 % in all, at one in a hundred it pays what an unsampled one does (about 3 %),
# and every kind of request still shows within a minute at any real load.
DEFAULT_RATIO = 0.01


class Span:
    """A span of our own ids, backed by an OpenTelemetry span when exporting."""

    __slots__ = ("_otel", "context")

    def __init__(self, context: TraceContext, otel: Any = None) -> None:
        self.context, self._otel = context, otel

    def end(self, error: BaseException | None = None) -> None:
        if self._otel is None:
            return
        if error is not None:
            from opentelemetry.trace import Status, StatusCode

            self._otel.set_status(Status(StatusCode.ERROR, getattr(error, "code", type(error).__name__)))
        self._otel.end()


def start(
    name: str,
    parent: TraceContext | str | None = None,
    *,
    kind: str = "internal",
    attributes: dict[str, Any] | None = None,
) -> Span:
    """A new span: child of ``parent`` (a context or a traceparent), else of the current one."""
    if not isinstance(parent, TraceContext):
        parent = current.get() if parent is None else parse(parent)
    if _tracer is None or (parent is not None and _parent_based and not int(parent.flags, 16) & 1):
        # Nothing to record: ids only (a child of an unsampled parent keeps its flags, so the
        # services it calls do not record it either).
        trace_id = parent.trace_id if parent else os.urandom(16).hex()
        return Span(TraceContext(trace_id, os.urandom(8).hex(), parent.flags if parent else "01"))
    if parent is None and _root_bound is not None:
        # A new trace under a ratio: TraceIdRatioBased's decision, on the id drawn here.
        drawn = random.getrandbits(128) or 1
        if drawn & _LOW_64 >= _root_bound:
            # flags as the SDK sets them on an unsampled root: not sampled, random trace id (W3C level 2)
            return Span(TraceContext(f"{drawn:032x}", os.urandom(8).hex(), "02"))
        _preset.trace_id = drawn  # the SDK's sampler takes the same decision on it
    from opentelemetry import trace

    otel_context = None
    if parent is not None:
        remote = trace.SpanContext(
            int(parent.trace_id, 16),
            int(parent.span_id, 16),
            is_remote=True,
            trace_flags=trace.TraceFlags(int(parent.flags, 16)),
        )
        otel_context = trace.set_span_in_context(trace.NonRecordingSpan(remote))
    otel_span = _tracer.start_span(
        name, context=otel_context, kind=getattr(trace.SpanKind, kind.upper()), attributes=attributes
    )
    span_context = otel_span.get_span_context()
    return Span(
        TraceContext(
            f"{span_context.trace_id:032x}", f"{span_context.span_id:016x}", f"{int(span_context.trace_flags):02x}"
        ),
        otel_span if otel_span.is_recording() else None,
    )  # an unsampled root: nothing to end


@contextlib.contextmanager
def span(name: str, *, kind: str = "internal", attributes: dict[str, Any] | None = None) -> Iterator[Span]:
    """A child of the current span, current while the block runs."""
    child = start(name, kind=kind, attributes=attributes)
    token = current.set(child.context)
    error = None
    try:
        yield child
    except BaseException as exc:
        error = exc
        raise
    finally:
        current.reset(token)
        child.end(error)


def bind(context: TraceContext | None, request: str | None) -> None:
    """Make ``context`` and ``request`` the current ones (of this task or green thread)."""
    current.set(context)
    request_id.set(request)


# -- logs --------------------------------------------------------------------------


def _install_log_fields() -> None:
    """Each log record gets ``trace_id`` and ``request_id`` from the context (once per process)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_agenthub_trace", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        context = current.get()
        record.trace_id = context.trace_id if context is not None else None
        record.request_id = request_id.get()
        return record

    factory._agenthub_trace = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


# -- set-up ------------------------------------------------------------------------


def configure(service_name: str, exporter: Any = None) -> bool:
    """Set up this process once; export spans when ``exporter`` is given or
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set. Returns whether spans are exported.

    Spans go through a ``BatchSpanProcessor`` (a queue of ``OTEL_BSP_MAX_QUEUE_SIZE``, 2048 by
    default, drained by one thread every ``OTEL_BSP_SCHEDULE_DELAY`` ms or each
    ``OTEL_BSP_MAX_EXPORT_BATCH_SIZE`` spans; spans beyond a full queue are dropped, never
    waited for). A test's ``exporter`` is called synchronously and, unless
    ``OTEL_TRACES_SAMPLER`` is set, sees every span."""
    global _tracer, _provider
    _install_log_fields()
    if _provider is not None:
        if exporter is not None:
            from opentelemetry.sdk.trace.export import SimpleSpanProcessor

            _provider.add_span_processor(SimpleSpanProcessor(exporter))
        return True
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if exporter is None and not endpoint:
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(
        resource=Resource.create({"service.name": f"agenthub-{service_name}"}),
        sampler=sampler(always=exporter is not None),
    )
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    install(provider)
    return True


def sampler(always: bool = False) -> Any:
    """``OTEL_TRACES_SAMPLER``'s sampler when it is set (the SDK reads it, and
    ``OTEL_TRACES_SAMPLER_ARG``), else parent-based: ``DEFAULT_RATIO`` of new traces
    (``OTEL_TRACES_SAMPLER_ARG`` changes the ratio), or all of them when ``always``."""
    if os.environ.get("OTEL_TRACES_SAMPLER"):
        return None  # TracerProvider builds it from the environment
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, TraceIdRatioBased

    if always:
        return ParentBased(ALWAYS_ON)
    try:
        ratio = float(os.environ.get("OTEL_TRACES_SAMPLER_ARG") or DEFAULT_RATIO)
    except ValueError:
        log.warning("OTEL_TRACES_SAMPLER_ARG is not a number; sampling %s of traces", DEFAULT_RATIO)
        ratio = DEFAULT_RATIO
    return ParentBased(TraceIdRatioBased(min(1.0, max(0.0, ratio))))


class _PresetTraceIds:
    """The provider's id generator, except that a new trace's id is the one ``start`` drew
    (and decided on) when it left one in ``_preset``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def generate_span_id(self) -> int:
        return int(self.inner.generate_span_id())

    def is_trace_id_random(self) -> bool:
        return bool(self.inner.is_trace_id_random())

    def generate_trace_id(self) -> int:
        drawn: int | None = getattr(_preset, "trace_id", None)
        if drawn is None:
            return int(self.inner.generate_trace_id())
        _preset.trace_id = None
        return drawn


def _ratio_bound(sampler: Any) -> int | None:
    """The bound of a parent-based sampler's trace-id-ratio root, else None (any other sampler
    decides for itself, in the SDK)."""
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    root = getattr(sampler, "_root", None) if isinstance(sampler, ParentBased) else None
    return root.bound if isinstance(root, TraceIdRatioBased) else None


def install(provider: Any) -> None:
    """Export through ``provider`` from now on (``None``: stop; the benchmark switches)."""
    global _tracer, _provider, _parent_based, _root_bound
    from opentelemetry.sdk.trace.sampling import ParentBased

    _provider = provider
    _root_bound = None
    if provider is not None and (bound := _ratio_bound(provider.sampler)) is not None:
        if not isinstance(provider.id_generator, _PresetTraceIds):
            provider.id_generator = _PresetTraceIds(provider.id_generator)
        _root_bound = bound
    _tracer = provider.get_tracer("agenthub") if provider is not None else None
    _parent_based = provider is not None and isinstance(provider.sampler, ParentBased)


def shutdown() -> None:
    """Flush and stop exporting (end of the process)."""
    global _tracer, _provider, _parent_based, _root_bound
    if _provider is not None:
        _provider.shutdown()
    _provider = _tracer = _root_bound = None
    _parent_based = False
