"""Issue 11, item 9: a bounded Schemathesis fuzz of the whole GraphQL schema against a running stack.

``CASES`` generated cases spread over every query and mutation (a few hundred,
well under three minutes), sent as a signed-in user. Each
answer must be below 500, and every error must carry a known
``extensions.code`` other than ``INTERNAL`` (an unexpected error is a bug even
when masked) and no stack trace.
"""

from __future__ import annotations

import uuid

import graphql
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schema.errors import CODES
from tests.support.gateway import GatewayProcess

pytestmark = pytest.mark.timeout(300)

PASSWORD = "fuzzing passphrase"

schemathesis.graphql.scalar(
    "DateTime",
    st.datetimes(timezones=st.just(__import__("datetime").timezone.utc)).map(
        lambda value: graphql.language.StringValueNode(value=value.isoformat())
    ),
)
schemathesis.graphql.scalar(
    "JSON",
    st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), st.text(max_size=20), max_size=3).map(
        lambda value: graphql.language.ObjectValueNode(
            fields=tuple(
                graphql.language.ObjectFieldNode(
                    name=graphql.language.NameNode(value=k), value=graphql.language.StringValueNode(value=v)
                )
                for k, v in value.items()
            )
        )
    ),
)
schemathesis.graphql.scalar("Upload", st.just(graphql.language.NullValueNode()))


@pytest.fixture(scope="module")
def fuzz_gateway(isolation, stack):
    gateway = GatewayProcess(
        isolation, AGENTHUB_RATE_LIMIT_AUTHENTICATED="1000000/minute", AGENTHUB_RATE_LIMIT_ANONYMOUS="1000000/minute"
    ).wait_ready(timeout=240)
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def fuzz_token(fuzz_gateway) -> str:
    name = f"fuzz_{uuid.uuid4().hex[:8]}"
    url = f"{fuzz_gateway.url}/graphql"
    httpx.post(
        url,
        json={
            "query": "mutation($i: RegisterInput!) { register(input: $i) { id } }",
            "variables": {"i": {"username": name, "password": PASSWORD}},
        },
        timeout=30,
    )
    login = httpx.post(
        url,
        json={
            "query": "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            "variables": {"i": {"username": name, "password": PASSWORD}},
        },
        timeout=30,
    )
    return login.json()["data"]["login"]["accessToken"]


CASES = 300


def test_no_input_gets_a_5xx_or_an_uncoded_error(fuzz_gateway, fuzz_token):
    schema = schemathesis.graphql.from_url(f"{fuzz_gateway.url}/graphql")
    # Sessions must survive the run: logging out would only turn the rest into UNAUTHENTICATED.
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if op.label.rsplit(".", 1)[-1] not in ("logout", "revokeSession")]
    assert len(operations) > 30
    headers = {"authorization": f"Bearer {fuzz_token}"}
    seen: list[str] = []

    @settings(
        max_examples=CASES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(data=st.data())
    def one_case(data):
        operation = data.draw(st.sampled_from(operations))
        case = data.draw(operation.as_strategy())
        seen.append(operation.label)
        response = case.call(headers=headers, timeout=30)
        assert response.status_code < 500, (case.body, response.text)
        body = response.json()
        for error in body.get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            assert code in CODES and code != "INTERNAL", (case.body, error)
            assert "Traceback" not in error.get("message", ""), error

    one_case()
    print(f"fuzz: {len(seen)} cases over {len(set(seen))} operations")
