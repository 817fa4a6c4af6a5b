"""Request ids and the one log line per HTTP request (pure ASGI middleware)."""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import metrics, tracing

log = logging.getLogger("agenthub.gateway")

REQUEST_ID_HEADER = "x-request-id"
INSTANCE_HEADER = "x-agenthub-instance"
QUIET_PATHS = frozenset({"/healthz", "/readyz"})
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
log_fields_var: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("log_fields", default=None)


def current_request_id() -> str:
    return request_id_var.get()


def annotate(**fields: Any) -> None:
    """Add fields (user id, operation, outcome) to this request's log line."""
    current = log_fields_var.get()
    if current is not None:
        current.update(fields)


KNOWN_ROUTES = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def _header(scope: Scope, name: bytes) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers") or []
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def route_label(path: str) -> str:
    """A bounded label for a request path: never the path itself (ids, probes)."""
    if path in KNOWN_ROUTES:
        return path
    if path.startswith("/rag/documents/"):
        return "/rag/documents/{id}/download"
    if path.startswith(("/api/", "/auth/")):
        return "rest"
    return "other"


class RequestContextMiddleware:
    """Assigns a request id (or keeps a well-formed incoming one), echoes it in
    ``X-Request-ID`` (and the instance in ``X-AgentHub-Instance``) and logs one structured
    line when the request ends."""

    def __init__(self, app: ASGIApp, instance: str | None = None) -> None:
        self.app = app
        # Which gateway process answered, when several share a port (``AGENTHUB_INSTANCE``).
        self.instance = [(INSTANCE_HEADER.encode(), instance.encode())] if instance else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request_token = request_id_var.set(request_id)
        route = route_label(scope.get("path") or "")
        span = tracing.start(
            f"{scope.get('method', 'WS')} {route}",
            _header(scope, b"traceparent"),
            kind="server",
            attributes={"http.route": route, "agenthub.request_id": request_id},
        )
        trace_token, trace_request_token = tracing.current.set(span.context), tracing.request_id.set(request_id)
        fields: dict[str, Any] = {
            "request_id": request_id,
            "trace_id": span.context.trace_id,
            "path": scope.get("path"),
            "kind": scope["type"],
        }
        fields_token = log_fields_var.set(fields)
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                fields["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                headers.extend(self.instance)
                message = {**message, "headers": headers}
            elif message["type"] == "websocket.accept" and self.instance:
                message = {**message, "headers": [*message.get("headers", []), *self.instance]}
            await send(message)

        failure = None
        websocket = scope["type"] == "websocket"
        if websocket:
            metrics.WEBSOCKETS.inc()
        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            # The client went away mid-request: its business, not an error of ours (and nothing to
            # answer); without this, uvicorn logs "Exception in ASGI application" with a traceback.
            fields["outcome"] = "CLIENT_DISCONNECTED"
        except Exception as exc:
            failure = exc
            fields["outcome"] = "INTERNAL"
            raise
        finally:
            elapsed = time.perf_counter() - started
            fields["duration_ms"] = round(elapsed * 1000, 2)
            if websocket:
                metrics.WEBSOCKETS.dec()
            else:
                method = scope.get("method", "GET")
                metrics.HTTP_REQUESTS.inc(
                    route, method if method in HTTP_METHODS else "other", str(fields.get("status", 500))
                )
                if route != "/graphql":  # its operations are timed by agenthub_graphql_operation_duration_seconds
                    metrics.HTTP_DURATION.labels(route).observe(elapsed)
            fields.setdefault("outcome", "ok")
            if failure is not None:
                log.error("request", extra={"fields": fields}, exc_info=failure)
            else:
                # Probes (load balancers, `agenthub up` waiting for readiness) repeat forever: DEBUG.
                quiet = scope.get("path") in QUIET_PATHS
                log.log(logging.DEBUG if quiet else logging.INFO, "request", extra={"fields": fields})
            span.end(failure)
            tracing.current.reset(trace_token)
            tracing.request_id.reset(trace_request_token)
            request_id_var.reset(request_token)
            log_fields_var.reset(fields_token)
