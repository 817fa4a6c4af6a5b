"""The web console (``web/console``) served at ``/``; ``AGENTHUB_CONSOLE=false`` turns it off.

``npm run build`` in ``web/console`` writes it into ``static/console`` (committed, so a machine
without Node.js serves it too). Without a build, ``/`` says how to make one. The GraphQL API stays
at ``/graphql``; these routes come after every other one, so they never shadow an API path.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

CONSOLE_DIR = Path(__file__).parent / "static" / "console"

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>AgentHub</title></head>
<body><h1>AgentHub</h1><p>The web console is not built. With Node.js 18 or later:
<code>cd web/console &amp;&amp; npm ci &amp;&amp; npm run build</code> (or <code>make install</code>),
then restart the gateway. The GraphQL API is at <a href="/graphql">/graphql</a>.</p></body></html>"""

# Same origin only: no CDN, no inline script; the WebSocket goes back to this host.
CSP = (
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; "
    "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


class ConsoleFiles(StaticFiles):
    """The built files with security headers; ``index.html`` is revalidated, hashed assets cached."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # a WebSocket to a console path: nothing here
            return
        path = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-security-policy", CSP.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"no-referrer"))
                cache = b"public, max-age=31536000, immutable" if path.startswith("/assets/") else b"no-cache"
                headers.append((b"cache-control", cache))
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, send_with_headers)


async def not_built(request: Request) -> HTMLResponse:
    return HTMLResponse(NOT_BUILT, status_code=503)


def built(directory: Path = CONSOLE_DIR) -> bool:
    return (directory / "index.html").is_file()


def routes(enabled: bool, directory: Path = CONSOLE_DIR) -> list[BaseRoute]:
    """The console's routes, to be placed last."""
    if not enabled:
        return []
    if not built(directory):
        return [Route("/", not_built)]
    return [Mount("/", app=ConsoleFiles(directory=directory, html=True), name="console")]
