"""GraphiQL's page names only local assets, which the gateway serves (development only); a request
that is not GraphQL gets a GraphQL error body with a code, not plain text."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from gateway import graphiql
from gateway.app import create_app
from tests.support.gateway import gateway_settings


@pytest.fixture(scope="module")
def development(isolation):
    with TestClient(create_app(gateway_settings(isolation))) as client:
        yield client


def test_the_page_loads_only_local_assets_that_exist(development):
    page = development.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "AgentHub GraphiQL" in page.text
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page.text)
    assert len(assets) == len(graphiql.VENDOR_FILES)
    assert all(asset.startswith(graphiql.VENDOR_PATH + "/") for asset in assets), assets
    assert "unpkg.com" not in page.text
    for asset in assets:
        response = development.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 500


def test_production_serves_no_ide_and_no_assets(isolation):
    settings = gateway_settings(isolation, env="production", jwt_secret="p" * 48)
    with TestClient(create_app(settings)) as client:
        page = client.get("/graphql", headers={"accept": "text/html"})
        assert "GraphiQL" not in page.text
        assert page.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert client.get(f"{graphiql.VENDOR_PATH}/graphiql.min.js").status_code == 404


@pytest.mark.parametrize(
    "body, content_type, message",
    [
        (b'{"query": "{ health { status } }"', "application/json", "Unable to parse request body as JSON"),
        (b'{"variables": {}}', "application/json", "No GraphQL query found in the request"),
        (b"query=1", "text/csv", "Unsupported content type"),
    ],
)
def test_a_request_that_is_not_graphql_is_a_coded_graphql_error(development, body, content_type, message):
    response = development.post("/graphql", content=body, headers={"content-type": content_type})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["errors"][0]
    assert error["message"] == message
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
