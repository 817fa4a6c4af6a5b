"""One declaration per RPC operation: the contract both sides are built from.

An ``Operation`` names the service and method, the input and output models, who may call it and
its docstring. From it:

* the service's entrypoint (``services/common/entrypoint.py: @operation(op)``) gets its wire
  signature, its permission check, its input parsing and its output dump;
* the gateway calls it with ``await ctx.invoke(op, data)`` and gets the parsed output back;
* the GraphQL field that exposes it gets its ``@auth``/``@authenticated``/``@public`` directive and
  its description (``gateway/graphql/permissions.py: operation_field(op)``);
* ``tests/unit/test_contract.py`` checks that every entrypoint is declared and that the SDL and
  the service agree on every operation's access.

The wire is Nameko's: ``service.name(*args, **kwargs)``. By default the input model's fields are
the RPC's arguments, in field order (``users(first, after, search)``); ``argument="data"`` keeps
an older shape where the whole input travels as one dict argument (``register(data)``).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel, TypeAdapter

from schema.permissions import Permission
from schema.validation import parse

I = TypeVar("I")  # noqa: E741 - the brief's name: Operation[I, O]; a pydantic model, or None
O = TypeVar("O")  # noqa: E741 - the brief's name: Operation[I, O]

_REGISTRY: dict[tuple[str, str], Operation[Any, Any]] = {}


class Access(str, Enum):
    """Who may call an operation when no particular permission is needed."""

    PUBLIC = "public"  # anyone, signed in or not (the entrypoint gets identity None)
    AUTHENTICATED = "authenticated"  # any signed-in caller


@dataclass(frozen=True, eq=False)
class Operation(Generic[I, O]):
    """One RPC operation. Declared once, at module level beside its models (``schema/<domain>.py``)."""

    service: str  # "auth" | "rag" | "agent"
    name: str  # the RPC method name (snake_case), unchanged on the wire
    input: type[I] | None  # a pydantic model, or None for no arguments
    output: Any  # a pydantic model, list[Model], Page[Model], a scalar type (bool, str) or None
    access: Permission | Access  # the one permission declaration
    doc: str  # the GraphQL description and the RPC docstring
    timeout: float | None = None  # the gateway's RPC timeout for it (None: the client's default)
    cost: int = 1  # rate-limit units one call draws from the caller's budget: model calls and ingestion cost more
    argument: str | None = None  # None: the input's fields are the arguments; "data": the input is one dict argument
    _wire: inspect.Signature = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.argument is not None and self.input is None:
            raise ValueError(f"{self.qualified_name}: argument= needs an input model")
        object.__setattr__(self, "_wire", _wire_signature(self._model, self.argument))
        _REGISTRY[(self.service, self.name)] = self  # a duplicate is caught by tests/unit/test_contract.py

    def __repr__(self) -> str:
        return f"Operation({self.qualified_name})"

    @property
    def _model(self) -> type[BaseModel] | None:
        return cast("type[BaseModel] | None", self.input)

    @property
    def qualified_name(self) -> str:
        return f"{self.service}.{self.name}"

    @property
    def permission(self) -> Permission | None:
        """The permission to hold, or None (public, or any signed-in caller)."""
        return self.access if isinstance(self.access, Permission) else None

    # -- the wire ------------------------------------------------------------------------------

    @property
    def signature(self) -> inspect.Signature:
        """The RPC's Python signature, without ``self`` (what Nameko checks a call against)."""
        return self._wire

    def parse_input(self, values: Any) -> I:
        """The input model from a mapping (or a model): BAD_USER_INPUT naming camelCase fields.

        A ``None`` for a field whose default is not ``None`` means "the default" (GraphQL's null).
        """
        model = self._model
        assert model is not None, f"{self.qualified_name} takes no input"
        if isinstance(values, Mapping):
            fields = model.model_fields
            values = {
                key: value
                for key, value in values.items()
                if not (value is None and key in fields and _null_means_default(fields[key]))
            }
        return cast(I, parse(model, values))

    def parse_call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> I | None:
        """The input model from an RPC call's arguments (raises TypeError for a wrong signature)."""
        bound = self._wire.bind(*args, **kwargs)
        if self.input is None:
            return None
        if self.argument is not None:
            return self.parse_input(bound.arguments.get(self.argument))
        return self.parse_input(bound.arguments)

    def call_arguments(self, data: I | None) -> dict[str, Any]:
        """The keyword arguments that carry ``data`` on the wire (JSON-ready)."""
        if self.input is None:
            return {}
        assert data is not None, f"{self.qualified_name} needs its input"
        dumped = cast(BaseModel, data).model_dump(mode="json")
        return {self.argument: dumped} if self.argument is not None else dumped

    @cached_property
    def _output(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.output)

    def dump_output(self, value: Any) -> Any:
        """What the entrypoint replies: the output, JSON-ready."""
        if self.output is None:
            return None
        return self._output.dump_python(value, mode="json")

    def parse_output(self, reply: Any) -> O:
        """The reply as the declared output type (the caller's side)."""
        if self.output is None:
            return None  # type: ignore[return-value]  # O is None for these
        return cast(O, self._output.validate_python(reply))


def _null_means_default(info: Any) -> bool:
    return not info.is_required() and info.get_default(call_default_factory=True) is not None


def _wire_signature(model: type[BaseModel] | None, argument: str | None) -> inspect.Signature:
    """Every argument optional: a missing one is a BAD_USER_INPUT naming it, not a TypeError."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    if model is None:
        names: list[str] = []
    elif argument is not None:
        names = [argument]
    else:
        names = list(model.model_fields)
    return inspect.Signature([inspect.Parameter(name, kind, default=None) for name in names])


def operations(service: str | None = None) -> list[Operation[Any, Any]]:
    """Every declared operation (of one service); the modules in ``schema/`` must be imported."""
    return [op for (name, _), op in _REGISTRY.items() if service is None or name == service]


def find(service: str, name: str) -> Operation[Any, Any] | None:
    return _REGISTRY.get((service, name))
