"""core.metrics: labelled metrics answer ``labels()`` from a cache of the client's own children."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from core import metrics


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
