"""HTTP requests that are not GraphQL requests get a GraphQL error body, not plain text.

Strawberry answers a malformed JSON body, a missing query or an unsupported content type with a
plain-text 400 (``HTTPException``). Clients parse ``errors[].extensions.code`` for every other
failure, so these get the same shape: code ``BAD_REQUEST``, the status Strawberry chose.
"""

from __future__ import annotations

from cross_web import HTTPException
from starlette.responses import JSONResponse

from gateway.requests import current_request_id

CODES = {404: "NOT_FOUND"}


def error_response(exc: HTTPException) -> JSONResponse:
    code = CODES.get(exc.status_code, "BAD_REQUEST")
    return JSONResponse(
        {"errors": [{"message": exc.reason, "extensions": {"code": code, "requestId": current_request_id()}}]},
        status_code=exc.status_code,
    )
