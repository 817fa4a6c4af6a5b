"""A gateway app wired to a test isolation, and small GraphQL helpers."""

from __future__ import annotations

from typing import Any

from gateway.settings import GatewaySettings
from tests.support.stack import REDIS_URL, Isolation


def gateway_settings(isolation: Isolation, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = dict(env="development", amqp_uri=isolation.amqp_uri, redis_url=REDIS_URL,
                                  redis_prefix=isolation.redis_prefix, data_dir=isolation.data_dir)
    values.update(overrides)
    return GatewaySettings(**values)


def gql(client, query: str, variables: dict | None = None, token: str | None = None,
        headers: dict | None = None) -> dict:
    all_headers = dict(headers or {})
    if token:
        all_headers["authorization"] = f"Bearer {token}"
    response = client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers)
    assert response.status_code == 200, response.text
    return response.json()


def error_code(body: dict) -> str | None:
    errors = body.get("errors") or []
    return errors[0].get("extensions", {}).get("code") if errors else None
