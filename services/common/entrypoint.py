"""``@operation(op)``: a service entrypoint built from its declaration in ``schema/``.

Usage (the body is the domain call, nothing else)::

    @operation(auth.ME)
    def me(self, identity: Identity) -> UserOut:
        return self.auth.me(identity)

    @operation(rag.ASK)
    def ask(self, identity: Identity, data: AskInput) -> Answer:
        return self.library.ask(identity, data)

The decorator registers our Nameko ``rpc`` (``services/common/rpc.py``) under ``op.name`` with the
operation's wire signature (the input model's fields as arguments, so callers are unchanged), and
on each call, in this order:

1. checks ``op.access`` against ``self.caller`` (the verified token): a ``Permission`` or
   ``Access.AUTHENTICATED`` passes the caller's ``Identity`` on; ``Access.PUBLIC`` passes ``None``
   without looking at any token (public operations must not depend on who calls);
   a signed-in caller refused is audited ``permission_denied`` (when the service has ``audit``);
2. parses the arguments into ``op.input`` (``BAD_USER_INPUT`` naming each camelCase field);
3. calls the method with ``(identity, data)``, or ``(identity)`` when there is no input;
4. dumps what it returns as ``op.output``, JSON-ready.

Our typed errors (``AgentHubError``) are ``expected_exceptions``: answers, not faults.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from schema.contract import Access, Operation
from schema.errors import AgentHubError, Forbidden
from schema.models import Identity, Outcome
from services.common.rpc import rpc

F = TypeVar("F", bound=Callable[..., Any])
I = TypeVar("I")  # noqa: E741 - as in schema/contract.py
O = TypeVar("O")  # noqa: E741 - the brief's name: Operation[I, O]

OPERATION_ATTRIBUTE = "__operation__"


def authorize(caller: Any, access: Any) -> Identity | None:
    """The identity an operation runs as, or the typed refusal (``Unauthenticated``/``Forbidden``)."""
    if access is Access.PUBLIC:
        return None
    identity: Identity = caller.require() if access is Access.AUTHENTICATED else caller.require(access)
    return identity


def audit_refusal(service: Any, op: Operation[Any, Any]) -> None:
    """A signed-in caller refused by the service itself (a direct RPC, ``nameko shell``, another
    service): audited as the gateway audits its own refusals, when the service has an audit dispatcher."""
    audit = getattr(service, "audit", None)
    if callable(audit):
        audit(
            "permission_denied",
            outcome=Outcome.DENIED,
            resource=f"operation:{op.qualified_name}",
            identity=service.caller.identity(),
            detail={"permission": str(op.access.value)},
        )


def operation(op: Operation[Any, Any], **rpc_options: Any) -> Callable[[F], F]:
    """Register the decorated method as the entrypoint of ``op`` (its name must be ``op.name``)."""

    def decorate(method: F) -> F:
        if method.__name__ != op.name:
            raise TypeError(f"@operation({op.qualified_name}) is on a method named {method.__name__!r}")

        @functools.wraps(method)
        def entrypoint(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                identity = authorize(self.caller, op.access)
            except Forbidden:
                audit_refusal(self, op)
                raise
            data = op.parse_call(args, kwargs)
            result = method(self, identity) if op.input is None else method(self, identity, data)
            return op.dump_output(result)

        entrypoint.__signature__ = _with_self(op)  # type: ignore[attr-defined]  # what Nameko checks calls against
        entrypoint.__doc__ = op.doc
        setattr(entrypoint, OPERATION_ATTRIBUTE, op)
        rpc_options.setdefault("expected_exceptions", (AgentHubError,))
        registered: F = rpc(**rpc_options)(entrypoint)
        return registered

    return decorate


def _with_self(op: Operation[Any, Any]) -> inspect.Signature:
    self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return op.signature.replace(parameters=[self_parameter, *op.signature.parameters.values()])


def operation_of(method: Any) -> Operation[Any, Any] | None:
    """The operation a service method was registered for, if any."""
    return getattr(method, OPERATION_ATTRIBUTE, None)


def invoke(proxy: Any, op: Operation[I, O], data: I | Mapping[str, Any] | None = None) -> O:
    """Service to service (agent → rag): call ``op`` on a Nameko ``RpcProxy(op.service)`` of this
    worker (so the caller's token travels with it); the input parsed and the reply typed by the
    contract, as the gateway's ``Context.invoke`` does."""
    arguments = op.call_arguments(op.parse_input(data)) if op.input is not None else {}
    return op.parse_output(getattr(proxy, op.name)(**arguments))
