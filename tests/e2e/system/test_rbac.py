"""Every operation, as every role and anonymously, against the rules the schema declares.

The matrix is derived from the exported SDL: each root field must carry
``@auth(requires: …)``, ``@authenticated`` or ``@public`` (a field without one
fails here), and is then called through a real gateway process as anonymous,
guest, user, service_account and admin. Allowed calls must get past the
permission check (any outcome but UNAUTHENTICATED/FORBIDDEN); the others must
fail with UNAUTHENTICATED (anonymous) or FORBIDDEN (signed in).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import websockets

from schema.permissions import ROLE_PERMISSIONS, Permission, Role
from services.auth.accounts import create_admin_at
from services.common.settings import ServiceSettings
from tests.support.gateway import GatewayProcess
from tests.support.operations import Operation, operations

SDL = (Path(__file__).resolve().parents[3] / "schema" / "schema.graphql").read_text()
ROLES = ["anonymous", Role.GUEST.value, Role.USER.value, Role.SERVICE_ACCOUNT.value, Role.ADMIN.value]
DENIED = {"UNAUTHENTICATED", "FORBIDDEN"}
PASSWORD = "rbac matrix passphrase"


def allowed(operation: Operation, role: str) -> bool:
    kind, permission = operation.requirement
    if kind == "public":
        return True
    if role == "anonymous":
        return False
    if kind == "authenticated":
        return True
    return Permission[permission] in ROLE_PERMISSIONS[Role(role)]


@pytest.fixture(scope="module")
def gateway_url(isolation, stack):
    gateway = GatewayProcess(
        isolation, AGENTHUB_RATE_LIMIT_AUTHENTICATED="100000/minute", AGENTHUB_RATE_LIMIT_ANONYMOUS="100000/minute"
    ).wait_ready()
    yield gateway.url
    gateway.stop()


def call(url: str, query: str, variables: dict, token: str | None = None) -> dict:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def tokens(gateway_url, isolation) -> dict[str, str | None]:
    """An access token per role, for real accounts."""
    settings = ServiceSettings(data_dir=isolation.data_dir, env="development")
    create_admin_at(settings.auth_database_url(), "rbac_admin", PASSWORD, settings=settings)
    login = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }"
    register = "mutation($i: RegisterInput!) { register(input: $i) { id } }"
    tokens: dict[str, str | None] = {"anonymous": None}
    admin = call(gateway_url, login, {"i": {"username": "rbac_admin", "password": PASSWORD}})
    tokens["admin"] = admin["data"]["login"]["accessToken"]
    for role in (Role.GUEST, Role.USER, Role.SERVICE_ACCOUNT):
        name = f"rbac_{role.value}"
        user = call(gateway_url, register, {"i": {"username": name, "password": PASSWORD}})
        user_id = user["data"]["register"]["id"]
        promoted = call(
            gateway_url,
            "mutation($u: ID!, $r: Role!) { setUserRole(userId: $u, role: $r) { id } }",
            {"u": user_id, "r": role.name},
            tokens["admin"],
        )
        assert not promoted.get("errors"), promoted
        signed_in = call(gateway_url, login, {"i": {"username": name, "password": PASSWORD}})
        tokens[role.value] = signed_in["data"]["login"]["accessToken"]
    return tokens


async def _subscribe(url: str, operation: Operation, token: str | None) -> dict:
    ws_url = url.replace("http://", "ws://") + "/graphql"
    params = {"Authorization": f"Bearer {token}"} if token else {}
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": params}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": operation.document, "variables": operation.variables},
                }
            )
        )
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        except TimeoutError:
            return {"data": "no event within 5 s, and no refusal"}
        if message["type"] == "error":
            return {"errors": message["payload"]}
        return message.get("payload", {})


def refusal(body: dict) -> str | None:
    """The code of a permission refusal (an error naming the rule it enforced), if any.

    A public operation may still answer UNAUTHENTICATED for its own reasons (a
    wrong password): only errors carrying ``requires`` are the schema's rules."""
    for error in body.get("errors") or []:
        extensions = error.get("extensions", {})
        if extensions.get("code") in DENIED and "requires" in extensions:
            return extensions["code"]
    return None


def test_every_root_field_declares_who_may_call_it():
    undeclared = [f"{o.root}.{o.field}" for o in operations(SDL) if o.requirement is None]
    assert not undeclared, f"fields without @auth/@authenticated/@public: {undeclared}"


def test_every_operation_as_every_role(gateway_url, tokens):
    # Sessions end last: logout would otherwise revoke the token the other calls use.
    ordered = sorted(operations(SDL), key=lambda o: o.field in ("logout",))
    mismatches = []
    for operation in ordered:
        if operation.uploads:
            continue  # multipart fields are covered by their domain's tests with real files
        for role in ROLES:
            token = tokens[role]
            if operation.root == "subscription":
                body = asyncio.run(_subscribe(gateway_url, operation, token))
            else:
                body = call(gateway_url, operation.document, operation.variables, token)
            code = refusal(body)
            expected_allowed = allowed(operation, role)
            if expected_allowed and code in DENIED:
                mismatches.append(f"{operation.field} as {role}: refused with {code}, should be allowed")
            if not expected_allowed:
                expected = "UNAUTHENTICATED" if role == "anonymous" else "FORBIDDEN"
                if code != expected:
                    mismatches.append(f"{operation.field} as {role}: got {code}, expected {expected}")
    assert not mismatches, "\n".join(mismatches)
