"""The gateway over the real services: health, readiness, the error convention, WebSocket."""

from __future__ import annotations

from starlette.testclient import TestClient

from gateway.app import create_app
from tests.support.gateway import gateway_settings

HEALTH = "{ health { status services { name status version latencyMs } } }"


def test_health_query_reaches_every_service(gateway):
    response = gateway.post("/graphql", json={"query": HEALTH})
    assert response.status_code == 200
    health = response.json()["data"]["health"]
    assert health["status"] == "UP"
    assert next(s["name"] for s in health["services"]) == "gateway"  # first: the gateway, its broker and Redis
    assert {s["name"] for s in health["services"]} == {"gateway", "auth", "agent", "rag"}
    for service in health["services"]:
        assert service["status"] == "UP"
        assert service["version"]
        assert service["latencyMs"] > 0


def test_readyz_is_200_when_everything_answers(gateway):
    response = gateway.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "UP"


def test_healthz_is_200(gateway):
    assert gateway.get("/healthz").status_code == 200


def test_request_id_is_echoed_and_generated(gateway):
    assert (
        gateway.get("/healthz", headers={"x-request-id": "abcdef0123456789"}).headers["x-request-id"]
        == "abcdef0123456789"
    )
    assert len(gateway.get("/healthz", headers={"x-request-id": "bad id!"}).headers["x-request-id"]) == 32


def test_services_that_do_not_answer_are_down(isolation, stack):
    # Another exchange: nothing is bound there, as if no service ran.
    settings = gateway_settings(isolation, rpc_exchange="agenthub-test-empty")
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert sorted(ready.json()["down"]) == ["agent", "auth", "rag"]
        health = client.post("/graphql", json={"query": HEALTH}).json()["data"]["health"]
        assert health["status"] == "DOWN"
        assert {s["status"] for s in health["services"] if s["name"] != "gateway"} == {"DOWN"}


def test_readyz_is_503_when_the_broker_is_unreachable(isolation):
    settings = gateway_settings(isolation, amqp_uri="amqp://guest:guest@127.0.0.1:1/", broker_connect_wait=0.3)
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["down"] == ["broker"]
        errors = client.post("/graphql", json={"query": HEALTH}).json()
        assert errors["data"]["health"]["status"] == "DOWN"


def test_validation_errors_carry_a_code(gateway):
    body = gateway.post("/graphql", json={"query": "{ nope }"}).json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_depth_alias_and_token_limits(isolation, stack):
    settings = gateway_settings(isolation, max_aliases=2, max_query_depth=1, max_tokens=60)
    with TestClient(create_app(settings)) as client:
        aliases = "{ a: health { status } b: health { status } c: health { status } }"
        body = client.post("/graphql", json={"query": aliases}).json()
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "aliases" in body["errors"][0]["message"]

        deep = "{ health { services { name } } }"
        body = client.post("/graphql", json={"query": deep}).json()
        assert "exceeds maximum operation depth" in body["errors"][0]["message"]

        long = "{ health { status " + " ".join(["status"] * 80) + " } }"
        body = client.post("/graphql", json={"query": long}).json()
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "token" in body["errors"][0]["message"].lower()


def test_field_suggestions_only_in_development(isolation, stack):
    query = {"query": "{ healt { status } }"}
    with TestClient(create_app(gateway_settings(isolation))) as client:
        assert "Did you mean" in client.post("/graphql", json=query).json()["errors"][0]["message"]
    production = gateway_settings(isolation, env="production", jwt_secret="x" * 40)
    with TestClient(create_app(production)) as client:
        message = client.post("/graphql", json=query).json()["errors"][0]["message"]
        assert "Did you mean" not in message
        assert client.get("/graphql", headers={"accept": "text/html"}).status_code != 200  # no GraphiQL


def test_graphiql_in_development(gateway):
    response = gateway.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_health_subscription_over_graphql_transport_ws(gateway):
    with gateway.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": "subscription { health(intervalSeconds: 1) { status } }"},
            }
        )
        message = ws.receive_json()
        assert message["type"] == "next", message
        assert message["payload"]["data"]["health"]["status"] == "UP"
        ws.send_json({"id": "1", "type": "complete"})


def test_subscription_input_errors_carry_a_code(gateway):
    with gateway.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init"})
        ws.receive_json()
        ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": "subscription { health(intervalSeconds: 0) { status } }"},
            }
        )
        message = ws.receive_json()
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
