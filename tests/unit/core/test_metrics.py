"""core.metrics: labelled metrics answer ``labels()`` from a cache of the client's own children."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from core import metrics
from schema.errors import PayloadTooLarge, RateLimited


def test_labels_return_the_clients_child_once_made_and_forget_it_when_removed():
    registry = CollectorRegistry()
    counter = metrics.Counter("agenthub_test_total", "A test counter.", ["route", "status"], registry=registry)
    first = counter.labels("/graphql", "200")
    assert counter.labels("/graphql", "200") is first
    assert counter.labels(route="/graphql", status="200") is first  # keywords: the client's own path
    assert counter.labels("/graphql", 200) is first  # the client turns values into str
    first.inc()
    counter.labels("/graphql", "200").inc(2)
    assert 'agenthub_test_total{route="/graphql",status="200"} 3.0' in generate_latest(registry).decode()

    counter.remove("/graphql", "200")
    again = counter.labels("/graphql", "200")
    assert again is not first and again._value.get() == 0
    counter.clear()
    assert counter.labels("/graphql", "200") is not again


def test_histograms_and_gauges_too():
    registry = CollectorRegistry()
    histogram = metrics.Histogram("agenthub_test_seconds", "A test.", ["route"], buckets=(0.1, 1), registry=registry)
    gauge = metrics.Gauge("agenthub_test_busy", "A test.", ["service"], registry=registry)
    histogram.labels("/graphql").observe(0.05)
    histogram.labels("/graphql").observe(0.5)
    gauge.labels("auth").inc()
    gauge.labels("auth").inc()
    gauge.labels("auth").dec()
    text = generate_latest(registry).decode()
    assert 'agenthub_test_seconds_bucket{le="0.1",route="/graphql"} 1.0' in text
    assert 'agenthub_test_seconds_count{route="/graphql"} 2.0' in text
    assert 'agenthub_test_busy{service="auth"} 1.0' in text


def test_operations_are_counted_and_timed_as_a_counter_and_a_histogram():
    from prometheus_client.parser import text_string_to_metric_families

    operations = metrics.Operations(buckets=(0.01, 0.1))
    registry = CollectorRegistry()
    registry.register(operations)
    operations.record("query", "me", 0.005)
    operations.record("query", "me", 0.05)
    operations.record("subscription", "health", None)  # counted, not timed
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for s in family.samples
    }
    me, health = (("operation", "me"), ("type", "query")), (("operation", "health"), ("type", "subscription"))
    assert samples[("agenthub_graphql_operations_total", me)] == 2
    assert samples[("agenthub_graphql_operations_total", health)] == 1
    assert samples[("agenthub_graphql_operation_duration_seconds_bucket", (("le", "0.01"), *me))] == 1
    assert samples[("agenthub_graphql_operation_duration_seconds_bucket", (("le", "+Inf"), *me))] == 2
    assert samples[("agenthub_graphql_operation_duration_seconds_count", me)] == 2
    assert abs(samples[("agenthub_graphql_operation_duration_seconds_sum", me)] - 0.055) < 1e-9
    assert not any(
        name.startswith("agenthub_graphql_operation_duration") and labels == health for name, labels in samples
    )


def test_an_outcome_is_a_code_of_the_convention_or_internal():
    # One list of codes (schema.errors.CODES): the metrics once kept their own, without PAYLOAD_TOO_LARGE.
    assert metrics.code_of(None) == "ok"
    assert metrics.code_of(PayloadTooLarge("too big")) == "PAYLOAD_TOO_LARGE"
    assert metrics.code_of(RateLimited("slow down")) == "RATE_LIMITED"
    assert metrics.code_of(ValueError("a bug")) == "INTERNAL"
