"""The gateway's Starlette application: routes, middleware and lifespan.

``create_app()`` builds it from ``GatewaySettings``; ``agenthub gateway`` serves
it with uvicorn.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.types.execution import ExecutionResult
from strawberry.types.unset import UnsetType
from uvicorn.protocols.utils import ClientDisconnected

from core import __version__, metrics, tracing
from core.ratelimit import AsyncLimiter
from core.redis_client import async_client
from gateway import bad_request, console, graphiql
from gateway.auth import EdgeAuthenticator, credential_from
from gateway.context import Context
from gateway.graphql.agent.stream import close_streams
from gateway.graphql.errors import apply_convention
from gateway.graphql.live import RevocationWatch, SubscriptionLeases
from gateway.graphql.rag.download import DOWNLOAD_PATH, download
from gateway.graphql.rag.watch import JobWatch
from gateway.graphql.schema import build_schema
from gateway.health import SharedHealth, check_services, redis_down
from gateway.limits import EdgeLimits
from gateway.requests import RequestContextMiddleware
from gateway.rest import edge_refusal
from gateway.rest import router as rest_router
from gateway.rpc import RpcClient
from gateway.settings import GatewaySettings
from schema.errors import Unauthenticated
from schema.models import Status

# What sending on a WebSocket raises once its client has gone, by the layer that noticed.
CLIENT_GONE = (WebSocketDisconnected, WebSocketDisconnect, ClientDisconnected)


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler, for which a client that closes its socket while a
    result is being sent to it has ended its subscription, as it may: Strawberry logs that as
    "Exception in worker task" with a traceback, one per leaving client. Other failures still are."""

    async def handle_task_exception(self, error: Exception) -> None:
        if isinstance(error, CLIENT_GONE):
            self.task_logger.debug("a WebSocket client left during a send: %s", type(error).__name__)
            return
        await super().handle_task_exception(error)


class GraphQLView(GraphQL[Context, None]):
    """Strawberry's ASGI view with AgentHub's typed context."""

    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(self, settings: GatewaySettings) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.development else None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            allowed_origins=settings.allowed_origins,
            keep_alive=True,
            keep_alive_interval=15,
            multipart_uploads_enabled=True,
        )

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(graphiql.page_html())  # local assets, works offline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _is_multipart(scope) and not _has_preflight_header(scope):
            # CSRF guard for uploads (CVE-2024-47082): a browser sends multipart
            # cross-site without a preflight, but never with a custom header.
            refusal = JSONResponse(
                {
                    "errors": [
                        {
                            "message": "Multipart requests need the header 'GraphQL-Preflight: 1' "
                            "(or 'Apollo-Require-Preflight: true').",
                            "extensions": {"code": "BAD_USER_INPUT"},
                        }
                    ]
                },
                status_code=400,
            )
            await refusal(scope, receive, send)
            return
        if scope["type"] == "http":
            try:
                response = await self.run(Request(scope=scope, receive=receive))
            except HTTPException as exc:  # not a GraphQL request: say so as a GraphQL error
                response = bad_request.error_response(exc)
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        state = request.app.state
        context = Context(
            request=request, rpc=state.rpc, settings=state.settings, edge=state.edge, limiter=state.limiter
        )
        if isinstance(request, Request):
            try:
                credential = credential_from(request.headers)
            except Unauthenticated as exc:
                context.auth_error = exc
            else:
                # Revocation is checked with the rate limit, in one Redis round trip (OperationGuard).
                await context.verify(credential)
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType:
        """WebSocket clients authenticate in ``connection_init`` (browsers cannot set headers)."""
        try:
            credential = credential_from(context.request.headers, context.connection_params)
        except Unauthenticated as exc:
            raise ConnectionRejectionError({"code": exc.code, "message": exc.message}) from None
        await context.authenticate(credential)
        if context.auth_error is not None:
            raise ConnectionRejectionError({"code": context.auth_error.code, "message": context.auth_error.message})
        return UnsetType()  # strawberry's UNSET (a singleton), typed

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        apply_convention(result)  # errors raised outside the operation's extensions
        return await super().process_result(request, result)


PREFLIGHT_HEADERS = (b"graphql-preflight", b"apollo-require-preflight", b"x-apollo-operation-name")


def _is_multipart(scope: Scope) -> bool:
    content_type: bytes = dict(scope.get("headers") or []).get(b"content-type", b"")
    return content_type.lower().startswith(b"multipart/")


def _has_preflight_header(scope: Scope) -> bool:
    headers = dict(scope.get("headers") or [])
    return any(headers.get(name) for name in PREFLIGHT_HEADERS)


async def healthz(request: Request) -> JSONResponse:
    """Liveness: the process runs."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Readiness: the broker is connected, Redis answers, and every service answers ``health`` in time."""
    rpc: RpcClient = request.app.state.rpc
    settings: GatewaySettings = request.app.state.settings
    redis_problem = await redis_down(request.app.state.redis, settings.ready_timeout)
    redis_state = {"redis": "DOWN" if redis_problem else "UP"}
    if not rpc.connected:
        down = ["broker", *(["redis"] if redis_problem else [])]
        return JSONResponse({"status": "DOWN", "broker": "DOWN", **redis_state, "down": down}, status_code=503)
    statuses = await check_services(rpc, settings.ready_timeout)
    down = [*(["redis"] if redis_problem else []), *(s.name for s in statuses if s.status is not Status.UP)]
    body = {
        "status": "DOWN" if down else "UP",
        "broker": "UP",
        **redis_state,
        "down": down,
        "services": {s.name: {"status": s.status.value, "detail": s.detail} for s in statuses},
    }
    return JSONResponse(body, status_code=503 if down else 200)


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus metrics of this gateway process (``core.metrics``)."""
    body, content_type = metrics.latest()
    return Response(body, media_type=content_type)


def create_app(settings: GatewaySettings | None = None) -> Starlette:
    settings = settings or GatewaySettings()
    settings.check_secure()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tracing.configure("gateway")
        metrics.serve(settings.metrics_port, settings.metrics_host)  # besides /metrics: one port per process
        rpc = RpcClient(
            settings.amqp_uri,
            exchange=settings.rpc_exchange,
            default_timeout=settings.rpc_timeout,
            name="gateway",
            tls=settings.amqp_ssl_context(),
        )
        await rpc.start(wait=settings.broker_connect_wait)
        redis = async_client(settings)
        app.state.rpc = rpc
        app.state.redis = redis
        app.state.edge = EdgeAuthenticator(settings, redis, rpc)
        app.state.limiter = AsyncLimiter(redis, settings.redis_prefix)
        app.state.live = RevocationWatch(redis, settings.redis_prefix, republish=app.state.edge.republish)
        app.state.leases = SubscriptionLeases(redis, settings.redis_prefix, settings.subscription_lease_seconds)
        app.state.jobs = JobWatch(redis, settings.redis_prefix)
        app.state.health = SharedHealth(rpc, settings.ready_timeout, settings.health_cache_seconds, redis)
        try:
            yield
        finally:
            await app.state.live.close()
            await app.state.leases.close()
            await app.state.jobs.close()
            await close_streams(app)
            await rpc.close()
            await redis.aclose()
            tracing.shutdown()

    view = GraphQLView(settings)
    app = Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            Route(DOWNLOAD_PATH, download, methods=["GET"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            *rest_router.routes,  # the previous system's REST API (deprecated, supported)
            *([graphiql.vendor_mount()] if settings.development else []),
            *console.routes(settings.console),  # last: the web console at / (AGENTHUB_CONSOLE=false: off)
        ],
        # Request ids outermost (a refusal is logged too), then the limits before anything reads a body.
        middleware=[
            Middleware(RequestContextMiddleware, instance=settings.instance),
            Middleware(EdgeLimits, settings=settings, shape=edge_refusal),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    metrics.BUILD.labels("gateway").info({"version": __version__})
    return app
