"""``GET /rag/documents/{id}/download``: the original file, for whoever may read the document.

Authenticated like GraphQL (``Authorization: Bearer <token or API key>``); the
rag service decides access, so a document one may not read is 404 exactly like
one that does not exist. Always served as an attachment with ``nosniff``, so
an uploaded HTML file never runs in the gateway's origin.

Mount it in the app's routes: ``Route(DOWNLOAD_PATH, download, methods=["GET"])``.
"""

from __future__ import annotations

import base64
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.auth import credential_from
from gateway.context import Context
from gateway.graphql.guard import enforce_rate_limit
from schema import rag
from schema.errors import AgentHubError
from schema.validation import UNSAFE_TEXT

DOWNLOAD_PATH = "/rag/documents/{document_id}/download"
STATUS = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "BAD_USER_INPUT": 400,
    "RATE_LIMITED": 429,
    "SERVICE_UNAVAILABLE": 503,
    "TIMEOUT": 504,
}


def _error(exc: AgentHubError) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": exc.message, "extensions": exc.extensions}]}, status_code=STATUS.get(exc.code, 500)
    )


def content_disposition(filename: str) -> str:
    """An attachment header for ``filename``; control and bidi characters (possible in names stored before
    they were refused) become ``_``, so the header is always valid and never reads backwards."""
    filename = UNSAFE_TEXT.sub("_", filename) or "download"
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def download(request: Request) -> Response:
    state = request.app.state
    context = Context(request=request, rpc=state.rpc, settings=state.settings, edge=state.edge, limiter=state.limiter)
    try:
        await context.authenticate(credential_from(request.headers))
        context.require_principal()
        await enforce_rate_limit(context, "download", rag.DOWNLOAD.cost)
        file = await context.invoke(rag.DOWNLOAD, {"document_id": request.path_params["document_id"]})
    except AgentHubError as exc:
        return _error(exc)
    return Response(
        base64.b64decode(file.content_base64),
        media_type=file.mime_type,
        headers={
            "Content-Disposition": content_disposition(file.filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
