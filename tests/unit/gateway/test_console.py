"""The web console's routes: served at / after the API, off with AGENTHUB_CONSOLE=false, and a
page that says how to build it when there is no build."""

import re

from starlette.testclient import TestClient

from gateway import console
from gateway.app import create_app
from gateway.settings import GatewaySettings


def app(**settings):
    return TestClient(create_app(GatewaySettings(env="development", **settings)))  # no lifespan: no broker


def test_the_committed_build_is_served_at_the_root_with_its_assets():
    assert console.built(), "gateway/static/console has no index.html: run `npm run build` in web/console"
    client = app()
    page = client.get("/")
    assert page.status_code == 200
    assert "no-cache" in page.headers["cache-control"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', page.text)
    assert assets and not re.search(r'(?:src|href)="(?:https?:)?//', page.text)  # nothing from a CDN
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200 and "immutable" in response.headers["cache-control"]


def test_the_api_paths_are_not_shadowed_by_the_console():
    client = app()
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/metrics").status_code == 200
    paths = [route.path for route in client.app.routes]
    assert paths.index("/graphql") < paths.index("") == len(paths) - 1  # the console's mount comes last


def test_console_false_serves_nothing_at_the_root():
    client = app(console=False)
    assert client.get("/").status_code == 404
    assert client.get("/healthz").status_code == 200


def test_without_a_build_the_root_says_how_to_build_it(tmp_path):
    routes = console.routes(True, directory=tmp_path)
    from starlette.applications import Starlette

    response = TestClient(Starlette(routes=routes)).get("/")
    assert response.status_code == 503 and "npm run build" in response.text


def test_the_console_operations_are_valid_against_the_exported_schema():
    """The same check `npm run build` makes (graphql-codegen), without Node: an API change that
    breaks an operation of web/console fails here too, in the change that makes it."""
    from pathlib import Path

    from graphql import build_schema, parse, validate

    root = Path(__file__).resolve().parents[3]
    schema = build_schema((root / "schema" / "schema.graphql").read_text())
    sources = sorted((root / "web" / "console" / "src").rglob("*.ts*"))
    operations = [
        match
        for path in sources
        if "/gql/" not in str(path)
        for match in re.findall(r"graphql\(`(.*?)`\)", path.read_text(), re.S)
    ]
    assert len(operations) >= 30
    for operation in operations:
        errors = validate(schema, parse(operation))
        assert not errors, f"{operation.split('{')[0].strip()}: {[e.message for e in errors]}"
