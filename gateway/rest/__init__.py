"""The previous system's REST API on the gateway: deprecated, supported, a thin layer over GraphQL's RPC calls.

``router`` holds every route of ``routes.ROUTES`` plus ``GET /api/openapi.json``;
the app mounts its routes (gateway/app.py). See docs/rest.md.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router

from gateway.rest.api import endpoint
from gateway.rest.openapi import document
from gateway.rest.routes import ROUTES

OPENAPI_PATH = "/api/openapi.json"
OPENAPI = document(ROUTES)


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(OPENAPI)


router = Router(routes=[
    *(Route(route.path, endpoint(route), methods=[route.method], name=f"rest:{route.name}") for route in ROUTES),
    Route(OPENAPI_PATH, openapi, methods=["GET"], name="rest:openapi"),
])
