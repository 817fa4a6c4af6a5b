"""One request, one trace: gateway → agent → rag and the model call, across RabbitMQ;
and the same run counted in the agent's and rag's metrics.

The gateway runs in this process with an in-memory span exporter; agent and rag
are real ``nameko run`` processes exporting over OTLP/HTTP to a collector in this
test (``OTEL_EXPORTER_OTLP_ENDPOINT``), and their JSON logs are read from disk.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from core import tracing
from gateway.app import create_app
from tests.support.accounts import mark_revocations_published
from tests.support.fixtures.agent import mint
from tests.support.gateway import gateway_settings
from tests.support.scripted_llm import Text, ToolCalls
from tests.support.stack import Isolation, ServiceProcess, free_port, stop_all


class Collector:
    """An OTLP/HTTP trace endpoint keeping (service, name, trace id, span id, parent id) of each span."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, str, str, str, str]] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = ExportTraceServiceRequest()
                request.ParseFromString(self.rfile.read(int(self.headers["content-length"])))
                for resource_spans in request.resource_spans:
                    service = next(
                        a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"
                    )
                    for scope in resource_spans.scope_spans:
                        for span in scope.spans:
                            collector.spans.append(
                                (service, span.name, span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex())
                            )
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture(scope="module")
def traced_stack(tmp_path_factory, llm):
    collector = Collector()
    isolation = Isolation(data_dir=tmp_path_factory.mktemp("traced")).create()
    mark_revocations_published(isolation.redis_prefix)  # no auth service in this stack
    otel = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "AGENTHUB_LOG_FORMAT": "json",
        "AGENTHUB_METRICS_PORT": str(free_port()),
    }
    processes = [
        ServiceProcess(isolation, "services.rag.service", "rag", **otel),
        ServiceProcess(
            isolation,
            "services.agent.service",
            "agent",
            AGENTHUB_LLM_BACKEND="openai",
            AGENTHUB_LLM_BASE_URL=llm.base_url,
            AGENTHUB_LLM_MODEL="scripted",
            AGENTHUB_LLM_TIMEOUT="10",
            AGENTHUB_AGENT_RUN_TIMEOUT="30",
            **otel,
        ),
    ]
    try:
        for process in processes:
            process.wait_until_consuming(timeout=240)
        yield isolation, processes, collector
    finally:
        stop_all(processes)
        isolation.destroy()
        collector.server.shutdown()


def metrics_text(process: ServiceProcess) -> str:
    url = next(line["url"] for line in log_lines(process) if line.get("msg") == "metrics served")
    return httpx.get(url, timeout=10).text


def value(text: str, name: str, **labels: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def log_lines(process: ServiceProcess) -> list[dict]:
    lines = []
    for line in process.log_path.read_text(errors="replace").splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            pass
    return lines


def test_one_request_is_one_trace_across_gateway_agent_rag_and_the_model(traced_stack, llm, caplog):
    isolation, (rag, agent), collector = traced_stack
    marker = f"t-{uuid.uuid4().hex[:8]}"
    llm.script(marker, [ToolCalls([("search_documents", {"query": "leases"})]), Text(["No ", "leases."])])
    trace_id, parent = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    memory = InMemorySpanExporter()
    tracing.configure("gateway", exporter=memory)
    try:
        with (
            caplog.at_level("INFO", logger="agenthub.gateway"),
            TestClient(create_app(gateway_settings(isolation))) as client,
        ):
            response = client.post(
                "/graphql",
                headers={"traceparent": f"00-{trace_id}-{parent}-01", "authorization": f"Bearer {mint('tracer')}"},
                json={
                    "query": "mutation($m: String!) { runAgent(input: {message: $m}) { status steps { tool } } }",
                    "variables": {"m": f"Any leases? {marker}"},
                },
            )
            run = (response.json().get("data") or {}).get("runAgent")
            assert run == {"status": "FINISHED", "steps": [{"tool": "search_documents"}]}, response.text
            gateway_spans = memory.get_finished_spans()
    finally:
        tracing.shutdown()

    # the gateway: its request span continues the caller's trace; its RPC span is a child of it
    by_name = {span.name: span for span in gateway_spans}
    assert {f"{s.context.trace_id:032x}" for s in gateway_spans} == {trace_id}
    server, call = by_name["POST /graphql"], by_name["agent.start_run"]
    assert f"{server.parent.span_id:016x}" == parent and call.parent.span_id == server.context.span_id
    request_lines = [r for r in caplog.records if r.getMessage() == "request" and r.trace_id == trace_id]
    assert request_lines and request_lines[0].fields["trace_id"] == trace_id

    # the services: spans exported over OTLP, all in the same trace, each child of its caller
    deadline = time.monotonic() + 30
    wanted = {"agent.start_run", "llm.openai", "rag.search"}
    while time.monotonic() < deadline and not wanted <= {s[1] for s in collector.spans if s[2] == trace_id}:
        time.sleep(0.2)
    spans = {s[1]: s for s in collector.spans if s[2] == trace_id}
    assert wanted <= set(spans), collector.spans
    assert spans["agent.start_run"][0] == "agenthub-agent" and spans["rag.search"][0] == "agenthub-rag"
    assert spans["agent.start_run"][4] == f"{call.context.span_id:016x}"  # the gateway's RPC span
    assert spans["rag.search"][4] == spans["agent.start_run"][3]  # agent → rag
    assert spans["llm.openai"][4] == spans["agent.start_run"][3]  # the model call, in the run

    # the same run in the services' metrics (each process on its own port)
    agent_metrics, rag_metrics = metrics_text(agent), metrics_text(rag)
    assert value(agent_metrics, "agenthub_agent_runs_total", mode="agent", outcome="finished") >= 1
    assert value(agent_metrics, "agenthub_agent_steps_total", tool="search_documents") >= 1
    assert value(agent_metrics, "agenthub_llm_calls_total", backend="openai", outcome="ok") >= 2
    assert value(agent_metrics, "agenthub_llm_tokens_total", backend="openai", kind="completion") >= 1
    assert value(agent_metrics, "agenthub_rpc_handled_total", service="agent", method="start_run", outcome="ok") >= 1
    assert value(rag_metrics, "agenthub_search_duration_seconds_count", mode="hybrid") >= 1
    assert value(rag_metrics, "agenthub_rpc_handled_total", service="rag", method="search", outcome="ok") >= 1
    assert "agenthub_ingestion_oldest_queued_seconds 0.0" in rag_metrics

    # every service log line about it carries the trace id and the request id
    request_id = request_lines[0].fields["request_id"]
    for process, operation in ((agent, "agent.start_run"), (rag, "rag.search")):
        lines = [line for line in log_lines(process) if line.get("trace_id") == trace_id]
        assert any(line.get("operation") == operation for line in lines), process.log_path
        assert all(line.get("request_id") == request_id for line in lines)
