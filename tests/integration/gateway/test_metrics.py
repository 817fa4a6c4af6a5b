"""Prometheus metrics after real operations: the gateway's /metrics and each service
instance's own metrics port; every label value bounded (no ids, paths or names)."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.graphql.schema import schema as gateway_schema
from gateway.rpc import RpcClient
from schema.errors import Unauthenticated
from tests.support.stack import Isolation, ServiceProcess, stop_all


def samples(text: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def value(text: str, name: str, **labels: str) -> float:
    return sum(
        s.value for s in samples(text) if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def root_fields() -> set[str]:
    graphql = gateway_schema._schema
    return {
        name
        for root in (graphql.query_type, graphql.mutation_type, graphql.subscription_type)
        if root
        for name in root.fields
    }


def test_gateway_metrics_after_real_operations_have_bounded_labels(gateway):
    secret = uuid.uuid4().hex  # appears in ids, paths, names and headers: it must appear in no label
    ok = gateway.post(
        "/graphql",
        json={"query": f"query Anything{secret} {{ health {{ status }} }}"},
        headers={"x-request-id": f"req-{secret}"},
    )
    assert ok.status_code == 200 and ok.json()["data"]["health"]["status"] == "UP"
    assert (
        gateway.post("/graphql", json={"query": "{ me { id } }"}).json()["errors"][0]["extensions"]["code"]
        == "UNAUTHENTICATED"
    )
    assert gateway.post("/graphql", json={"query": f"{{ nothing{secret} }}"}).status_code == 200
    gateway.post("/graphql", json={"query": "{ health { status } me { id } }"})
    gateway.get(f"/rag/documents/{secret}/download")
    gateway.get(f"/no/such/{secret}")
    gateway.request("BREW", "/graphql")

    response = gateway.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert value(text, "agenthub_graphql_operations_total", type="query", operation="health") >= 1
    assert value(text, "agenthub_graphql_errors_total", type="query", operation="me", code="UNAUTHENTICATED") >= 1
    assert value(text, "agenthub_graphql_errors_total", operation="invalid", code="BAD_USER_INPUT") >= 1
    assert value(text, "agenthub_graphql_operations_total", type="query", operation="multiple") >= 1
    assert value(text, "agenthub_graphql_operation_duration_seconds_count", type="query", operation="health") >= 1
    for service in ("auth", "agent", "rag"):
        assert value(text, "agenthub_rpc_client_calls_total", service=service, method="health", outcome="ok") >= 1
        assert value(text, "agenthub_rpc_client_duration_seconds_count", service=service, method="health") >= 1
    assert value(text, "agenthub_http_requests_total", route="/graphql", method="POST", status="200") >= 4
    assert value(text, "agenthub_http_requests_total", route="other", method="GET") >= 1
    assert value(text, "agenthub_http_requests_total", route="/graphql", method="other") >= 1
    assert value(text, "agenthub_build_info", component="gateway") == 1
    assert value(text, "process_resident_memory_bytes") > 0  # the default process collector

    fields = root_fields()
    for sample in samples(text):
        for label, label_value in sample.labels.items():
            assert secret not in label_value, (sample.name, label)
            if label == "operation":
                assert label_value in fields | {"multiple", "invalid"}, sample
            if label == "code":
                assert re.fullmatch(r"[A-Z_]+", label_value), sample


async def _rpc_calls(amqp_uri: str) -> None:
    client = RpcClient(amqp_uri, default_timeout=30.0, name="metrics-test")
    await client.start(wait=10)
    try:
        for _ in range(10):
            await client.call("auth", "health", context={"request_id": uuid.uuid4().hex})
        with pytest.raises(Unauthenticated):
            await client.call(
                "auth", "login", [{"username": f"nobody-{uuid.uuid4().hex[:6]}", "password": "not the password at all"}]
            )
    finally:
        await client.close()


def _metrics_url(process: ServiceProcess, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in process.log_path.read_text(errors="replace").splitlines():
            if '"metrics served"' in line:
                return json.loads(line)["url"]
        time.sleep(0.2)
    raise TimeoutError(process.log_path.read_text(errors="replace")[-2000:])


def test_each_service_instance_serves_its_own_series(tmp_path):
    with socket.socket() as probe:  # a port free now; the second instance takes the next free one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    isolation = Isolation(data_dir=tmp_path).create()
    processes = [
        ServiceProcess(
            isolation, "services.auth.service", "auth", AGENTHUB_METRICS_PORT=str(port), AGENTHUB_LOG_FORMAT="json"
        )
        for _ in range(2)
    ]
    try:
        for process in processes:
            process.wait_until_consuming(timeout=240)
        urls = [_metrics_url(process) for process in processes]
        assert len(set(urls)) == 2 and urls[0].startswith("http://127.0.0.1:")
        asyncio.run(_rpc_calls(isolation.amqp_uri))
        texts = [httpx.get(url, timeout=10).text for url in urls]
        handled = [
            value(text, "agenthub_rpc_handled_total", service="auth", method="health", outcome="ok") for text in texts
        ]
        # the purge timer's workers count too; the health calls were split between the instances
        assert sum(handled) == 10, handled
        assert (
            sum(
                value(t, "agenthub_rpc_handled_total", service="auth", method="login", outcome="UNAUTHENTICATED")
                for t in texts
            )
            == 1
        )
        for text in texts:
            assert value(text, "agenthub_workers_max", service="auth") == 10
            assert value(text, "agenthub_workers_busy", service="auth") >= 0
            assert value(text, "agenthub_build_info", component="auth") == 1
            assert value(text, "process_cpu_seconds_total") > 0
            for sample in samples(text):
                assert not any(re.search(r"[0-9a-f]{8}-[0-9a-f]{4}|nobody-", v) for v in sample.labels.values())
    finally:
        stop_all(processes)
        isolation.destroy()


def _gauge(gateway, name: str) -> float:
    return value(gateway.get("/metrics").text, name)


def test_websocket_connections_and_active_subscriptions(gateway):
    def settled(name: str, expected: float) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if _gauge(gateway, name) == expected:
                return True
            time.sleep(0.05)
        return False

    before_ws = _gauge(gateway, "agenthub_websocket_connections")
    before_subs = _gauge(gateway, "agenthub_graphql_subscriptions_active")
    with gateway.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": "subscription { health(intervalSeconds: 1) { status } }"},
            }
        )
        assert ws.receive_json()["type"] == "next"
        assert _gauge(gateway, "agenthub_websocket_connections") == before_ws + 1
        assert _gauge(gateway, "agenthub_graphql_subscriptions_active") == before_subs + 1
        ws.send_json({"id": "1", "type": "complete"})
        assert settled("agenthub_graphql_subscriptions_active", before_subs)
    assert settled("agenthub_websocket_connections", before_ws)
    text = gateway.get("/metrics").text
    assert value(text, "agenthub_graphql_operations_total", type="subscription", operation="health") >= 1


def test_a_gateway_process_serves_its_metrics_on_its_own_port_when_asked(settings, stack):
    """Several gateways share one HTTP port with --scale (SO_REUSEPORT): a scrape of /metrics
    reaches any of them, so each also serves its own series on AGENTHUB_METRICS_PORT."""
    from starlette.testclient import TestClient

    from gateway.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with TestClient(create_app(settings.model_copy(update={"metrics_port": port}))) as client:
        client.post("/graphql", json={"query": "{ health { status } }"})
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert value(text, "agenthub_graphql_operations_total", type="query", operation="health") >= 1
