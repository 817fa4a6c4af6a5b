"""A client that goes away mid-request is logged as such, not raised as an ASGI error."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import ClientDisconnect

from gateway.requests import RequestContextMiddleware


def test_client_disconnect_is_an_outcome_not_an_error(caplog):
    async def app(scope, receive, send):
        raise ClientDisconnect()

    async def call():
        async def receive():
            return {"type": "http.disconnect"}

        async def send(message):
            pass

        await RequestContextMiddleware(app)(
            {"type": "http", "path": "/graphql", "method": "POST", "headers": []}, receive, send
        )

    with caplog.at_level(logging.DEBUG, logger="agenthub.gateway"):
        asyncio.run(call())  # does not raise
    records = [r for r in caplog.records if r.getMessage() == "request"]
    assert [r.levelno for r in records] == [logging.INFO]
    assert records[0].fields["outcome"] == "CLIENT_DISCONNECTED"
