"""Trace context without an exporter: W3C traceparent parsing, child ids, log fields."""

from __future__ import annotations

import json
import logging

import pytest

from core import tracing
from core.logs import JsonFormatter

pytestmark = pytest.mark.unit

TRACE, SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


@pytest.mark.parametrize("header", [None, "", "garbage", f"01-{TRACE}-{SPAN}-01", f"00-{'0' * 32}-{SPAN}-01",
                                    f"00-{TRACE}-{'0' * 16}-01", f"00-{TRACE}-{SPAN}", f"00-{TRACE}-{SPAN}-01-extra",
                                    f"00-{TRACE[:-1]}g-{SPAN}-01", 42])
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
