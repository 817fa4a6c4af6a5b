"""The error convention, without servers."""

from graphql import GraphQLError

from gateway.graphql.errors import MASKED_MESSAGE, conventional
from gateway.requests import request_id_var
from schema.errors import BadUserInput, NotFound, RateLimited, RemoteError, from_wire


def wire(exc: Exception) -> dict:
    """What Nameko puts on the wire for ``exc``."""
    from nameko.exceptions import serialize

    return serialize(exc)


def test_registered_errors_round_trip_over_the_wire():
    original = BadUserInput.for_fields({"username": "must be 3-50 characters"})
    rebuilt = from_wire(wire(original))
    assert type(rebuilt) is BadUserInput
    assert rebuilt.extensions == {"code": "BAD_USER_INPUT", "fields": {"username": "must be 3-50 characters"}}
    assert "username" in str(rebuilt)


def test_retry_after_survives_the_wire_as_a_number():
    rebuilt = from_wire(wire(RateLimited("Slow down.", {"retryAfter": 12})))
    assert rebuilt.extensions["retryAfter"] == 12


def test_unregistered_errors_become_remote_errors():
    rebuilt = from_wire(wire(ValueError("secret detail")))
    assert isinstance(rebuilt, RemoteError)
    assert rebuilt.exc_type == "ValueError"


def test_domain_errors_keep_message_and_code():
    error = conventional(GraphQLError("x", original_error=NotFound("No such document.")))
    assert error.message == "x"
    assert error.extensions == {"code": "NOT_FOUND"}


def test_unexpected_errors_are_masked_with_the_request_id():
    token = request_id_var.set("req-1234567890")
    try:
        error = conventional(GraphQLError("boom: password=hunter2", original_error=RuntimeError("boom")))
    finally:
        request_id_var.reset(token)
    assert error.message == MASKED_MESSAGE
    assert error.extensions == {"code": "INTERNAL", "requestId": "req-1234567890"}
    assert "hunter2" not in str(error.formatted)


def test_remote_errors_are_masked():
    error = conventional(GraphQLError("RuntimeError x", original_error=RemoteError("RuntimeError", "x")))
    assert error.message == MASKED_MESSAGE


def test_conventional_is_idempotent():
    once = conventional(GraphQLError("y", original_error=RuntimeError("y")))
    assert conventional(once).formatted == once.formatted
