"""``@operation(op)`` on a service class, through Nameko's ``worker_factory``: real pydantic parsing,
real tokens and the real ``Caller`` on the real Redis (``tests/support/callers.py``)."""

from __future__ import annotations

import inspect

import pytest
from nameko.exceptions import IncorrectSignature
from nameko.extensions import Entrypoint
from nameko.rpc import Rpc
from nameko.testing.services import worker_factory
from pydantic import BaseModel, ConfigDict, Field

from schema.contract import Access, Operation
from schema.errors import AgentHubError, BadUserInput, Forbidden, Unauthenticated
from schema.models import Identity, Outcome
from schema.permissions import Permission
from services.common.audit import AuditDispatcher
from services.common.entrypoint import invoke, operation, operation_of
from services.common.identity import CallerProvider
from tests.support.callers import Callers


class EchoInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=20)
    top_k: int = Field(5, ge=1, le=10)
    tags: list[str] | None = None


class Echo(BaseModel):
    text: str
    top_k: int
    user_id: str | None


ECHO: Operation[EchoInput, Echo] = Operation("unit", "echo", EchoInput, Echo, Permission.READ_RAG, "Echo it back.")
ECHOES: Operation[EchoInput, list[Echo]] = Operation(
    "unit", "echoes", EchoInput, list[Echo], Permission.READ_RAG, "Twice.", argument="data"
)
WHO: Operation[None, str] = Operation("unit", "who", None, str, Access.AUTHENTICATED, "Who calls.")
OPEN: Operation[EchoInput, Echo] = Operation("unit", "open", EchoInput, Echo, Access.PUBLIC, "Anyone.")
NOTHING: Operation[None, None] = Operation("unit", "nothing", None, None, Access.PUBLIC, "Returns nothing.")


class UnitService:
    name = "unit"
    caller = CallerProvider()
    audit = AuditDispatcher()  # worker_factory injects a MagicMock: the event boundary

    @operation(ECHO)
    def echo(self, identity: Identity, data: EchoInput) -> Echo:
        return Echo(text=data.text, top_k=data.top_k, user_id=identity.user_id)

    @operation(ECHOES)
    def echoes(self, identity: Identity, data: EchoInput) -> list[Echo]:
        return [Echo(text=data.text, top_k=data.top_k, user_id=None)] * 2

    @operation(WHO)
    def who(self, identity: Identity) -> str:
        return identity.role

    @operation(OPEN)
    def open(self, identity: None, data: EchoInput) -> Echo:
        return Echo(text=data.text, top_k=data.top_k, user_id=identity)

    @operation(NOTHING)
    def nothing(self, identity: None) -> str:
        return "dropped: the declared output is None"


@pytest.fixture
def callers():
    callers = Callers.open()
    yield callers
    callers.close()


def service(caller) -> UnitService:
    return worker_factory(UnitService, caller=caller)


def test_input_from_keyword_or_positional_arguments_and_output_dumped(callers):
    user = service(callers.user("user"))
    assert user.echo(text="hi") == {"text": "hi", "top_k": 5, "user_id": user.caller.identity().user_id}
    assert user.echo("hi", 3)["top_k"] == 3
    assert user.echoes({"text": "hi"}) == [{"text": "hi", "top_k": 5, "user_id": None}] * 2
    assert user.who() == "user"
    assert service(callers.anonymous()).nothing() is None


def test_bad_input_names_camel_case_fields(callers):
    user = service(callers.user("user"))
    with pytest.raises(BadUserInput) as raised:
        user.echo(text="", top_k=0)
    assert set(raised.value.details["fields"]) == {"text", "topK"}
    with pytest.raises(BadUserInput) as raised:
        user.echo()
    assert raised.value.details["fields"] == {"text": "Field required"}
    with pytest.raises(BadUserInput) as raised:
        user.echoes("not an object")
    assert raised.value.details["fields"] == {"input": "must be an object"}
    with pytest.raises(BadUserInput) as raised:
        user.echoes({"text": "x", "extra": 1})
    assert "extra" in raised.value.details["fields"]


def test_null_means_the_default(callers):
    assert service(callers.user("user")).echo(text="hi", top_k=None)["top_k"] == 5


def test_permission_is_checked_before_the_input(callers):
    with pytest.raises(Unauthenticated):
        service(callers.anonymous()).echo(text="")
    with pytest.raises(Forbidden):
        service(callers.user("guest")).echo(text="")  # guests have no read:rag; the input is never read
    with pytest.raises(Forbidden):
        service(callers.user("admin", scopes=[Permission.READ_AGENT])).echo(text="hi")  # a key's scopes bound it
    assert service(callers.user("guest", scopes=[Permission.READ_AGENT])).who() == "guest"


def test_a_refusal_by_the_service_is_audited(callers):
    guest = service(callers.user("guest"))
    with pytest.raises(Forbidden):
        guest.echo(text="hi")
    guest.audit.assert_called_once_with(
        "permission_denied",
        outcome=Outcome.DENIED,
        resource="operation:unit.echo",
        identity=guest.caller.identity(),
        detail={"permission": "read:rag"},
    )
    anonymous = service(callers.anonymous())
    with pytest.raises(Unauthenticated):
        anonymous.echo(text="hi")
    anonymous.audit.assert_not_called()  # no one to name: the gateway counts failed sign-ins


def test_a_revoked_session_is_refused(callers):
    token = callers.token("user", session_id="s-1")
    callers.revoke_session("s-1")
    with pytest.raises(Unauthenticated):
        service(callers.caller(token)).who()
    with pytest.raises(Unauthenticated):
        service(callers.anonymous()).who()


def test_public_operations_never_read_the_token(callers):
    assert service(callers.anonymous()).open(text="hi")["user_id"] is None
    assert service(callers.caller("not.a.jwt")).open(text="hi")["user_id"] is None


def test_registered_as_our_rpc_with_the_wire_signature():
    (entrypoint,) = UnitService.echo.nameko_entrypoints
    assert isinstance(entrypoint, Rpc) and entrypoint.expected_exceptions == (AgentHubError,)
    assert operation_of(UnitService.echo) is ECHO
    assert UnitService.echo.__doc__ == "Echo it back."
    # Nameko checks each call against the method with inspect.getcallargs
    assert inspect.getcallargs(UnitService.echo, None, "hi", 3, None) == {
        "self": None,
        "text": "hi",
        "top_k": 3,
        "tags": None,
    }
    assert inspect.getcallargs(UnitService.echoes, None, data={}) == {"self": None, "data": {}}
    for args, kwargs in [(("hi", 3, None, "extra"), {}), ((), {"query": "hi"})]:
        with pytest.raises(TypeError):
            inspect.getcallargs(UnitService.echo, None, *args, **kwargs)
    with pytest.raises(TypeError):
        inspect.getcallargs(UnitService.who, None, "unexpected")


class _Container:
    """What binding an entrypoint reads of its container."""

    service_cls = UnitService

    def __init__(self) -> None:
        self.shared_extensions: dict = {}


def _refusal(check, *arguments) -> str | None:
    try:
        check(*arguments)
    except IncorrectSignature as exc:
        return str(exc)
    return None


def test_the_signature_check_agrees_with_namekos():
    """``services.common.rpc.Rpc`` binds to a signature computed once; Nameko's own check
    (``inspect.getcallargs``) still decides, with its message, whenever the binding fails."""
    container = _Container()
    calls = [
        ("echo", ("hi", 3, None), {}),
        ("echo", (), {"text": "hi"}),
        ("echo", ("hi", 3, None, "extra"), {}),
        ("echo", (), {"query": "hi"}),
        ("echoes", (), {"data": {}}),
        ("echoes", ({}, {}), {}),
        ("who", (), {}),
        ("who", ("unexpected",), {}),
    ]
    for name, args, kwargs in calls:
        (entrypoint,) = getattr(UnitService, name).nameko_entrypoints
        ours = entrypoint.bind(container, name)
        mine = _refusal(ours.check_signature, args, kwargs)
        assert mine == _refusal(Entrypoint.check_signature, ours, args, kwargs), (name, args, kwargs)
    assert ours._signature is not None  # computed once, kept on the bound entrypoint


def test_the_method_must_carry_the_operation_name():
    with pytest.raises(TypeError, match=r"unit\.echo"):

        class Misnamed:
            @operation(ECHO)
            def echo_it(self, identity, data):
                return None


def test_invoke_sends_the_wire_arguments_and_types_the_reply(callers):
    """Service to service: the 'proxy' here is the service itself, so the call takes the real entrypoint path."""
    target = service(callers.user("user"))
    echo = invoke(target, ECHO, {"text": "hi", "top_k": None})
    assert isinstance(echo, Echo) and (echo.text, echo.top_k) == ("hi", 5)
    assert [e.text for e in invoke(target, ECHOES, EchoInput(text="x"))] == ["x", "x"]
    assert invoke(target, WHO) == "user"
    with pytest.raises(BadUserInput):
        invoke(target, ECHO, {"text": ""})  # refused before anything is sent


def test_one_validation_path_for_every_input():
    """What schema.validation.parse reports, whichever domain's model: the API's camelCase path (nested
    too), the rule without pydantic's "Value error, " prefix, a model-level rule against its field."""
    from schema import auth
    from schema.validation import parse

    with pytest.raises(BadUserInput) as raised:
        auth.AUDIT_LOG.parse_input({"filter": {"since": "yesterday"}, "first": 0})
    assert set(raised.value.details["fields"]) == {"filter.since", "first"}
    with pytest.raises(BadUserInput) as raised:
        parse(auth.RegisterInput, {"username": "x", "password": "long enough"})
    assert raised.value.details["fields"]["username"].startswith("must be 3-50 characters")
    with pytest.raises(BadUserInput) as raised:
        parse(auth.RegisterInput, {"username": "carol", "password": "CAROL-is-me"})
    assert raised.value.details["fields"] == {"password": "must not contain the username"}
