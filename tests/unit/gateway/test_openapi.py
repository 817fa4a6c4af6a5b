"""/api/openapi.json: OpenAPI 3.1, generated from the route declarations; docs/rest.md lists every route."""

from __future__ import annotations

from gateway.rest import OPENAPI
from gateway.rest.routes import ROUTES
from tests.support.stack import ROOT

# The previous system's contract: every row of its table.
CONTRACT = {
    ("post", "/auth/register"),
    ("post", "/auth/login"),
    ("post", "/auth/validate"),
    ("post", "/api/auth/validate"),
    ("post", "/api/agent/query"),
    ("post", "/api/rag/query"),
    ("post", "/api/rag/retrieve"),
    ("post", "/api/rag/lookup"),
    ("post", "/api/rag/ingest"),
    ("post", "/api/rag/upload"),
    ("post", "/api/rag/upload_with_progress"),
    ("get", "/api/rag/upload_progress/{session_id}"),
    ("post", "/api/rag/clear"),
    ("get", "/health"),
    ("get", "/api/health"),
}
# Beyond the old contract: what GraphQL offers that an old client could miss (docs/rest.md, "Added routes").
ADDED = {
    ("post", "/api/rag/cancel_upload/{session_id}"),
    ("get", "/api/rag/jobs/{job_id}"),
    ("post", "/api/rag/jobs/{job_id}/cancel"),
}
PERMISSIONS = {
    "/api/rag/cancel_upload/{session_id}": "write:rag",
    "/api/rag/jobs/{job_id}": "read:rag",
    "/api/rag/jobs/{job_id}/cancel": "write:rag",
    "/api/agent/query": "write:agent",
    "/api/rag/query": "read:rag",
    "/api/rag/retrieve": "read:rag",
    "/api/rag/lookup": "read:rag",
    "/api/rag/ingest": "write:rag",
    "/api/rag/upload": "write:rag",
    "/api/rag/upload_with_progress": "write:rag",
    "/api/rag/upload_progress/{session_id}": "write:rag",
    "/api/rag/clear": "write:rag",
}


def test_the_document_is_valid_openapi_3_1():
    from openapi_spec_validator import validate

    validate(OPENAPI)
    assert OPENAPI["openapi"] == "3.1.0"


def test_every_contract_route_is_declared_and_described():
    served = {(method, path) for path, item in OPENAPI["paths"].items() for method in item}
    assert served == CONTRACT | ADDED == {(r.method.lower(), r.path) for r in ROUTES}
    for path, item in OPENAPI["paths"].items():
        for operation in item.values():
            assert operation["deprecated"] is True
            assert operation.get("x-permission") == PERMISSIONS.get(path)
            assert "GraphQL equivalent" in operation["description"]


def test_new_routes_have_the_declarations_permission_and_their_404():
    from schema import rag

    paths = OPENAPI["paths"]
    assert paths["/api/rag/jobs/{job_id}/cancel"]["post"]["x-permission"] == rag.CANCEL_JOB.permission.value
    assert paths["/api/rag/jobs/{job_id}"]["get"]["x-permission"] == rag.JOB.permission.value
    for path, method in (
        ("/api/rag/jobs/{job_id}/cancel", "post"),
        ("/api/rag/jobs/{job_id}", "get"),
        ("/api/rag/cancel_upload/{session_id}", "post"),
        ("/api/rag/upload_progress/{session_id}", "get"),
    ):
        assert "404" in paths[path][method]["responses"], path
    assert "job_id" in OPENAPI["components"]["schemas"]["FileResult"]["properties"]
    assert "duration_ms" in OPENAPI["components"]["schemas"]["DatabaseResult"]["properties"]


def test_request_limits_are_in_the_document():
    schemas = OPENAPI["components"]["schemas"]
    assert schemas["AgentQueryRequest"]["properties"]["user_request"]["maxLength"] == 2000
    top_k = schemas["RetrieveRequest"]["properties"]["top_k"]
    assert (top_k["minimum"], top_k["maximum"], top_k["default"]) == (1, 100, 5)
    assert schemas["IngestRequest"]["properties"]["file_paths"]["maxItems"] == 50
    assert schemas["MultipartFiles"]["properties"]["files"]["items"] == {"type": "string", "format": "binary"}


def test_docs_list_every_route_with_its_graphql_equivalent():
    text = (ROOT / "docs" / "rest.md").read_text()
    for route in ROUTES:
        row = next((line for line in text.splitlines() if line.startswith(f"| `{route.method} {route.path}` |")), None)
        assert row is not None, f"docs/rest.md lacks {route.method} {route.path}"
        assert "|" in row and row.count("`") >= 4, row  # a GraphQL equivalent in the same row


def test_served_at_api_openapi_json():
    from starlette.testclient import TestClient

    from gateway.app import create_app
    from gateway.settings import GatewaySettings

    app = create_app(
        GatewaySettings(env="development", amqp_uri="amqp://guest:guest@127.0.0.1:1/none", broker_connect_wait=0)
    )
    with TestClient(app) as client:
        response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.json() == OPENAPI
