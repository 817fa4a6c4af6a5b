"""The previous system's REST API on the gateway: deprecated, supported, a thin layer over GraphQL's RPC calls.

``router`` holds every route of ``routes.ROUTES`` plus ``GET /api/openapi.json``;
the app mounts its routes (gateway/app.py). See docs/rest.md.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router

from gateway.rest.api import endpoint, refusal
from gateway.rest.openapi import document
from gateway.rest.routes import ROUTES
from schema.errors import AgentHubError

OPENAPI_PATH = "/api/openapi.json"
OPENAPI = document(ROUTES)


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(OPENAPI)


router = Router(
    routes=[
        *(Route(route.path, endpoint(route), methods=[route.method], name=f"rest:{route.name}") for route in ROUTES),
        Route(OPENAPI_PATH, openapi, methods=["GET"], name="rest:openapi"),
    ]
)


_BY_PATH = {route.path: route for route in ROUTES if "{" not in route.path}


def edge_refusal(path: str, status: int, error: AgentHubError) -> Response | None:
    """The REST shape of an edge refusal for a REST path; None for any other path (GraphQL's shape)."""
    route = _BY_PATH.get(path)
    return refusal(route, status, error) if route is not None else None
