"""Trace context without an exporter: W3C traceparent parsing, child ids, log fields."""

from __future__ import annotations

import json
import logging

import pytest

from core import tracing
from core.logs import JsonFormatter

TRACE, SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"01-{TRACE}-{SPAN}-01",
        f"00-{'0' * 32}-{SPAN}-01",
        f"00-{TRACE}-{'0' * 16}-01",
        f"00-{TRACE}-{SPAN}",
        f"00-{TRACE}-{SPAN}-01-extra",
        f"00-{TRACE[:-1]}g-{SPAN}-01",
        42,
    ],
)
def test_malformed_traceparents_are_ignored(header):
    assert tracing.parse(header) is None
    span = tracing.start("x", header)
    assert len(span.context.trace_id) == 32 and span.context.trace_id != TRACE


def test_a_span_continues_its_parents_trace_with_its_own_id():
    parent = tracing.parse(f"00-{TRACE.upper()}-{SPAN}-01")
    assert parent == tracing.TraceContext(TRACE, SPAN, "01")
    child = tracing.start("child", parent.traceparent)
    assert child.context.trace_id == TRACE and child.context.span_id not in (SPAN, "0" * 16)
    assert tracing.parse(child.context.traceparent) == child.context
    token = tracing.current.set(child.context)
    try:
        with tracing.span("nested") as nested:
            assert nested.context.trace_id == TRACE and tracing.current.get() is nested.context
        assert tracing.current.get() is child.context
    finally:
        tracing.current.reset(token)


def test_log_lines_carry_the_trace_and_request_ids():
    tracing.configure("test")  # no OTEL_EXPORTER_OTLP_ENDPOINT here: no exporter, only the log fields
    formatter = JsonFormatter()
    logger = logging.getLogger("agenthub.test")

    def line() -> dict:
        record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, "hello", (), None)
        return json.loads(formatter.format(record))

    assert "trace_id" not in line()
    trace_token = tracing.current.set(tracing.TraceContext(TRACE, SPAN))
    request_token = tracing.request_id.set("req-12345678")
    try:
        assert line()["trace_id"] == TRACE and line()["request_id"] == "req-12345678"
    finally:
        tracing.current.reset(trace_token)
        tracing.request_id.reset(request_token)


@pytest.fixture
def exporting(monkeypatch):
    """``configure`` as with ``OTEL_EXPORTER_OTLP_ENDPOINT`` set, spans kept in memory (batched)."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setattr("opentelemetry.exporter.otlp.proto.http.trace_exporter.OTLPSpanExporter", lambda: memory)
    tracing.shutdown()
    yield memory
    tracing.shutdown()


def finished(memory) -> list:
    tracing._provider.force_flush()
    return memory.get_finished_spans()


def test_exporting_samples_a_share_of_new_traces_and_keeps_a_callers_decision(exporting, monkeypatch):
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.25")
    assert tracing.configure("test")
    roots = [tracing.start("root", kind="server") for _ in range(2000)]
    sampled = [span for span in roots if int(span.context.flags, 16) & 1]  # W3C: bit 0 is "sampled"
    assert 350 < len(sampled) < 650  # 25 % of 2000, give or take
    for span in roots:
        span.end()
    assert len(finished(exporting)) == len(sampled)

    # a caller's decision is kept: its sampled traces are recorded, its unsampled ones are not
    # (and a child of an unsampled span does not touch OpenTelemetry at all)
    exporting.clear()
    kept = tracing.start("kept", f"00-{TRACE}-{SPAN}-01", kind="server")
    skipped = tracing.start("skipped", f"00-{TRACE}-{SPAN}-00", kind="server")
    assert skipped._otel is None and skipped.context.flags == "00" and skipped.context.trace_id == TRACE
    child = tracing.start("child", skipped.context)
    assert child._otel is None and child.context.flags == "00" and child.context.trace_id == TRACE
    for span in (kept, skipped, child):
        span.end()
    assert [span.name for span in finished(exporting)] == ["kept"]


def test_the_standard_sampler_variable_wins(exporting, monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
    monkeypatch.delenv("OTEL_TRACES_SAMPLER_ARG", raising=False)
    assert tracing.configure("test")
    spans = [tracing.start("root") for _ in range(50)]
    # always_on ignores the parent's decision, so an unsampled caller's span is recorded too
    spans.append(tracing.start("child of unsampled", f"00-{TRACE}-{SPAN}-00"))
    for span in spans:
        span.end()
    assert len(finished(exporting)) == 51


def test_the_default_ratio_applies_without_the_variables(exporting, monkeypatch):
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    monkeypatch.delenv("OTEL_TRACES_SAMPLER_ARG", raising=False)
    assert tracing.configure("test")
    sampler = tracing._provider.sampler
    assert "ParentBased" in sampler.get_description() and str(tracing.DEFAULT_RATIO) in sampler.get_description()


def test_a_new_trace_is_decided_as_the_sdks_ratio_sampler_would_and_keeps_its_id(exporting, monkeypatch):
    """``start`` decides for a new trace without the SDK; a sampled one is the SDK's span under
    the trace id that was decided on, an unsampled one never reaches the SDK."""
    from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.5")
    assert tracing.configure("test")
    bound = TraceIdRatioBased.get_bound_for_rate(0.5)
    roots = [tracing.start("root", kind="server") for _ in range(400)]
    sampled = [span for span in roots if int(span.context.flags, 16) & 1]
    assert 120 < len(sampled) < 280
    for span in roots:
        assert (int(span.context.trace_id, 16) & ((1 << 64) - 1) < bound) == (span in sampled)
        assert (span._otel is not None) == (span in sampled)
        span.end()
    exported = finished(exporting)
    assert sorted(f"{s.context.trace_id:032x}" for s in exported) == sorted(s.context.trace_id for s in sampled)
    # a span of our own, not the SDK's, for the unsampled ones; its children follow it
    unsampled = next(span for span in roots if span not in sampled)
    child = tracing.start("child", unsampled.context)
    assert child._otel is None and child.context.trace_id == unsampled.context.trace_id
    assert not int(child.context.flags, 16) & 1
