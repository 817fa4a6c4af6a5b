"""WebSocket clients authenticate in connection_init; revocation reaches open sockets."""

from __future__ import annotations

import uuid

import pytest
import redis
from starlette.websockets import WebSocketDisconnect

from core.tokens import TokenCodec, session_revoked_key
from tests.support.accounts import create_admin
from tests.support.stack import REDIS_URL


@pytest.fixture(scope="module")
def user_id(isolation):
    return create_admin(isolation, "ws_user")


def run(ws, op_id: str, query: str) -> dict:
    """A query over the socket: one ``next`` then ``complete``, or one ``error``."""
    ws.send_json({"id": op_id, "type": "subscribe", "payload": {"query": query}})
    message = ws.receive_json()
    if message["type"] == "error":
        return {"errors": message["payload"]}
    assert message["type"] == "next", message
    assert ws.receive_json() == {"id": op_id, "type": "complete"}
    return message["payload"]


def test_token_in_connection_init_authenticates_the_socket(gateway, settings, user_id):
    session = uuid.uuid4().hex
    token = TokenCodec(settings).issue(subject=user_id, role="admin", session_id=session).token
    with gateway.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        assert run(ws, "1", "{ me { id } }")["data"]["me"]["id"] == user_id

        # Logout elsewhere: the open socket's next operation is refused.
        redis.Redis.from_url(REDIS_URL).set(session_revoked_key(settings.redis_prefix, session), 1, ex=60)
        refused = run(ws, "2", "{ me { id } }")
        assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_bad_token_in_connection_init_closes_the_socket(gateway):
    with gateway.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": "Bearer not-a-token"}})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4403


def test_anonymous_sockets_may_use_public_fields_only(gateway):
    with gateway.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json()["type"] == "connection_ack"
        assert run(ws, "1", "{ health { status } }")["data"]["health"]["status"] == "UP"
        assert run(ws, "2", "{ me { id } }")["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
