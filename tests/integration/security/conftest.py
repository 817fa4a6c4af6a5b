"""A gateway (in process) on the run's real stack, and real accounts made through the API."""

from __future__ import annotations

import uuid

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from services.auth.accounts import create_admin_at
from services.common.settings import ServiceSettings
from tests.support.gateway import gateway_settings, gql

PASSWORD = "security suite passphrase"
REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { id } }"
LOGIN = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }"


@pytest.fixture(scope="module")
def settings(isolation):
    return gateway_settings(
        isolation,
        api_key_cache_seconds=0,
        rate_limit_authenticated="100000/minute",
        rate_limit_anonymous="100000/minute",
    )


@pytest.fixture(scope="module")
def gateway(settings, stack):
    with TestClient(create_app(settings)) as client:
        yield client


def new_user(gateway) -> tuple[str, str]:
    """(user id, access token) of a freshly registered user."""
    name = f"s_{uuid.uuid4().hex[:10]}"
    user = gql(gateway, REGISTER, {"i": {"username": name, "password": PASSWORD}})
    token = gql(gateway, LOGIN, {"i": {"username": name, "password": PASSWORD}})["data"]["login"]["accessToken"]
    return user["data"]["register"]["id"], token


@pytest.fixture(scope="module")
def admin_token(gateway, isolation) -> str:
    name = f"admin_{uuid.uuid4().hex[:6]}"
    settings = ServiceSettings(
        data_dir=isolation.data_dir,
        env="development",
        password_time_cost=1,
        password_memory_cost=1024,
        password_parallelism=1,
    )
    create_admin_at(settings.auth_database_url(), name, PASSWORD, settings=settings)
    return gql(gateway, LOGIN, {"i": {"username": name, "password": PASSWORD}})["data"]["login"]["accessToken"]


def create_key(gateway, token: str, scopes: list[str], **extra) -> str:
    body = gql(
        gateway,
        "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key } }",
        {"i": {"name": f"k{uuid.uuid4().hex[:6]}", "scopes": scopes, **extra}},
        token=token,
    )
    assert not body.get("errors"), body
    return body["data"]["createApiKey"]["key"]
