"""How a REST route is declared and served.

A ``RestRoute`` is data: method, path, permission, request and response
models, the handler, and the GraphQL operation it stands for. ``endpoint``
turns one into a Starlette endpoint that runs the same steps as a GraphQL
operation, in the same order and with the same code:

1. identity from the edge (``Context.authenticate``, gateway/auth.py);
2. the caller's rate limit (``enforce_rate_limit``, shared with GraphQL);
3. the permission (``Identity.can``), a denial audited like GraphQL's;
4. the body (already bounded by the edge limits, gateway/limits.py), validated by the model;
5. the handler, which calls the services over the gateway's RPC client.

Errors come back in the previous system's shapes (see ``docs/rest.md``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.redis_client import is_redis_down, redis_unavailable
from gateway.auth import credential_from
from gateway.context import Context
from gateway.graphql.guard import audit_denials, enforce_rate_limit
from gateway.requests import annotate, current_request_id
from schema.errors import AgentHubError, Unauthenticated
from schema.permissions import Permission

log = logging.getLogger("agenthub.gateway")

Service = Literal["auth", "agent", "rag", "gateway"]
SERVICE_NAMES = {"auth": "Auth", "agent": "Agent", "rag": "RAG", "gateway": "Gateway"}
TOKEN_MISSING = "Token is missing!"
TOKEN_INVALID = "Token is invalid or expired!"
FORBIDDEN = "Insufficient permissions!"
MAX_FILES = 10
MAX_FORM_FIELDS = 20


@dataclass
class RestCall:
    """What a handler gets: the gateway context (identity, RPC), the validated body, any files."""

    route: RestRoute
    context: Context
    request: Request
    body: Any = None
    files: list[UploadFile] = field(default_factory=list)

    @property
    def path_params(self) -> dict[str, Any]:
        return self.request.path_params


Handler = Callable[[RestCall], Awaitable[BaseModel | Response]]


@dataclass(frozen=True)
class RestRoute:
    method: str
    path: str
    name: str  # operationId, and the operation name in logs, rate-limit audits and metrics
    summary: str
    graphql: str  # the GraphQL operation that replaces it
    service: Service  # names the 503, and decides the validation error's key
    handler: Handler
    response: type[BaseModel]
    permission: Permission | None = None
    token: bool = False  # a valid token without a particular permission (validate)
    body: type[BaseModel] | None = None  # JSON request body
    multipart: bool = False  # multipart/form-data, field ``files``
    status: int = 200
    cost: int = 1  # rate-limit units per call: the cost of the operation it calls (Operation.cost)
    errors: dict[str, tuple[int, str]] = field(default_factory=dict)  # code → (status, message), route-specific

    @property
    def needs_token(self) -> bool:
        return self.token or self.permission is not None

    @property
    def message_key(self) -> str:
        """The previous system's auth routes answered validation errors in ``message``, the others in ``error``."""
        return "message" if self.service == "auth" else "error"


class RestError(Exception):
    """A response decided before or inside a handler."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(body)
        self.status, self.body, self.headers = status, body, headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


def validation_error(route: RestRoute, fields: dict[str, str]) -> RestError:
    summary = "; ".join(f"{name}: {rule}" for name, rule in fields.items())
    return RestError(400, {route.message_key: f"Validation error: {summary}"})


def unavailable(service: str) -> RestError:
    name = SERVICE_NAMES.get(service, service.capitalize())
    return RestError(503, {"error": f"{name} service unavailable"})


def from_domain_error(route: RestRoute, exc: AgentHubError) -> RestError:
    """A service's typed error in the previous system's shape."""
    if exc.code in route.errors:
        status, message = route.errors[exc.code]
        return RestError(status, {route.message_key: message})
    if exc.code == "UNAUTHENTICATED":
        return RestError(401, {"message": TOKEN_INVALID})
    if exc.code == "FORBIDDEN":
        return RestError(403, {"message": FORBIDDEN})
    if exc.code == "BAD_USER_INPUT":
        fields = exc.details.get("fields")
        if isinstance(fields, dict) and fields:
            return validation_error(route, {str(k): str(v) for k, v in fields.items()})
        return RestError(400, {route.message_key: f"Validation error: {exc.message}"})
    if exc.code == "RATE_LIMITED":
        retry = str(exc.extensions.get("retryAfter", 1))
        return RestError(429, {"message": exc.message}, {"Retry-After": retry})
    if exc.code in ("SERVICE_UNAVAILABLE", "TIMEOUT"):
        service = exc.details.get("service")
        return unavailable(service if service in SERVICE_NAMES else route.service)
    if exc.code == "NOT_FOUND":
        return RestError(404, {"error": exc.message})
    if exc.code == "CONFLICT":
        return RestError(409, {route.message_key: exc.message})
    return _internal(exc)


def _internal(exc: BaseException) -> RestError:
    request_id = current_request_id()
    log.error("unexpected error", exc_info=exc, extra={"fields": {"request_id": request_id}})
    return RestError(500, {"error": "Internal server error", "request_id": request_id})


def rest_credential(headers: Mapping[str, str]) -> str | None:
    """``Authorization: Bearer <token>``, a bare ``Authorization: <token>`` (old clients), or ``X-API-Key``."""
    authorization = headers.get("authorization")
    if authorization is not None:
        scheme, _, rest = authorization.strip().partition(" ")
        value = rest.strip() if scheme.lower() == "bearer" else authorization.strip()
        return value or None
    return credential_from(headers)


def refusal(route: RestRoute, status: int, error: AgentHubError) -> Response:
    """An edge refusal (gateway/limits.py) of a request to ``route``, in the previous system's shape."""
    if status == 413:
        return JSONResponse({route.message_key: error.message}, status_code=413)
    if status == 400:
        return validation_error(route, {"body": error.message}).response()
    if error.code == "UNAUTHENTICATED" and error.details.get("reason") == "missing":
        return RestError(401, {"message": TOKEN_MISSING}).response()
    return from_domain_error(route, error).response()


def _pydantic_fields(exc: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "body"
        fields.setdefault(name, error["msg"].removeprefix("Value error, "))
    return fields


async def _json_body(route: RestRoute, request: Request) -> Any:
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError):
        raise validation_error(route, {"body": "is not valid JSON"}) from None
    assert route.body is not None  # only called for a route that takes a body
    try:
        return route.body.model_validate(data)
    except ValidationError as exc:
        raise validation_error(route, _pydantic_fields(exc)) from None


async def _files(route: RestRoute, request: Request) -> list[UploadFile]:
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise validation_error(route, {"files": "send multipart/form-data with one 'files' field per file"})
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=MAX_FORM_FIELDS)
    except Exception as exc:  # starlette's MultiPartException / HTTPException: a malformed or oversized form
        detail = getattr(exc, "detail", None) or getattr(exc, "message", None) or "is not a valid multipart form"
        raise validation_error(route, {"files": str(detail)}) from None
    files = [item for item in form.getlist("files") if isinstance(item, UploadFile)]
    if not files:
        raise validation_error(route, {"files": "needs at least one file"})
    return files


def endpoint(route: RestRoute) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        annotate(operation=f"rest:{route.name}")
        state = request.app.state
        context = Context(
            request=request, rpc=state.rpc, settings=state.settings, edge=state.edge, limiter=state.limiter
        )
        call = RestCall(route, context, request)
        try:
            try:
                credential = rest_credential(request.headers)
                await context.authenticate(credential)
                cost = route.cost if context.principal is not None else 1
                await enforce_rate_limit(context, f"rest:{route.name}", cost)
                if route.needs_token:
                    _require(route, context, credential)
                if route.body is not None:
                    call.body = await _json_body(route, request)
                if route.multipart:
                    call.files = await _files(route, request)
                result = await route.handler(call)
            finally:
                await audit_denials(context)
                for upload in call.files:
                    await upload.close()
        except RestError as exc:
            annotate(outcome=str(exc.status))
            return exc.response()
        except AgentHubError as exc:
            error = from_domain_error(route, exc)
            annotate(outcome=exc.code)
            return error.response()
        except Exception as exc:  # never a stack trace to the client
            if is_redis_down(exc):
                annotate(outcome="SERVICE_UNAVAILABLE")
                return from_domain_error(route, redis_unavailable()).response()
            annotate(outcome="INTERNAL")
            return _internal(exc).response()
        if isinstance(result, Response):
            return result
        return JSONResponse(result.model_dump(mode="json"), status_code=route.status)

    serve.__name__ = route.name
    return serve


def _require(route: RestRoute, context: Context, credential: str | None) -> None:
    if context.principal is None:
        error = context.auth_error
        if credential is None:
            raise RestError(401, {"message": TOKEN_MISSING})
        if error is None or isinstance(error, Unauthenticated):
            raise RestError(401, {"message": TOKEN_INVALID})
        raise error  # the auth service was unreachable for an API key: 503
    if route.permission is not None and not context.principal.can(route.permission):
        context.denied(route.permission.value, f"rest:{route.name}")
        raise RestError(403, {"message": FORBIDDEN})
