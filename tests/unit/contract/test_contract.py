"""One declaration per operation (``schema/contract.py``), and nothing that disagrees with it.

* every RPC entrypoint of every service class is an ``@operation`` of that service, with that name
  (except the internal ones listed in ``INTERNAL``), and every declared operation has one;
* the gateway never calls a converted service by name (``rpc.call("auth", "me")``), only through
  its declarations;
* every GraphQL root field that calls an operation (``operation_field``) prints, in the exported SDL
  (``schema/schema.graphql``), the directive of that operation's access;
* the service's check is the one declared: ``tests/integration/contract/test_access.py`` (real
  tokens on the real Redis).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from graphql import build_schema
from nameko.rpc import Rpc

from schema import contract
from schema.contract import Access, Operation
from services.common.entrypoint import operation_of

ROOT = Path(__file__).resolve().parents[3]
SDL = build_schema((ROOT / "schema" / "schema.graphql").read_text())
DOMAINS = ("auth", "rag", "agent")
SERVICES = {
    "auth": "services.auth.service:AuthService",
    "rag": "services.rag.service:RagService",
    "agent": "services.agent.service:AgentService",
}
# RPC entrypoints that are no API operation: nobody but operators and the supervisor calls them.
INTERNAL = {"auth": {"health"}, "rag": {"health"}, "agent": {"health"}}
# Services whose entrypoints are not converted to @operation yet (contract-rag, contract-agent):
# remove a name here when its service is converted.
NOT_YET: set[str] = set()


def _declared() -> list[Operation]:
    for domain in DOMAINS:
        importlib.import_module(f"schema.{domain}")
    return [op for op in contract.operations() if op.service in DOMAINS]


def _service_class(service: str) -> type:
    module, name = SERVICES[service].split(":")
    return getattr(importlib.import_module(module), name)


def _rpc_methods(cls: type) -> dict[str, object]:
    return {
        name: member
        for name, member in vars(cls).items()
        if any(isinstance(e, Rpc) for e in getattr(member, "nameko_entrypoints", ()))
    }


def test_each_operation_is_declared_once():
    seen: dict[tuple[str, str], str] = {}
    for domain in DOMAINS:
        module = importlib.import_module(f"schema.{domain}")
        for name, value in vars(module).items():
            if isinstance(value, Operation):
                key = (value.service, value.name)
                assert key not in seen, f"{value.qualified_name} declared as {seen[key]} and {name}"
                assert value.service == domain, f"{value.qualified_name} is declared in schema/{domain}.py"
                assert value.doc.strip(), f"{value.qualified_name} has no doc"
                seen[key] = name


@pytest.mark.parametrize("service", sorted(set(SERVICES) - NOT_YET))
def test_every_entrypoint_is_a_declared_operation(service):
    cls = _service_class(service)
    methods = _rpc_methods(cls)
    for name, method in methods.items():
        if name in INTERNAL[service]:
            continue
        op = operation_of(method)
        assert op is not None, f"{cls.__name__}.{name} is an rpc without @operation (declare it in schema/)"
        assert (op.service, op.name) == (service, name), f"{cls.__name__}.{name} is registered for {op}"
    missing = {op.name for op in _declared() if op.service == service} - set(methods)
    assert not missing, f"declared but no entrypoint in {cls.__name__}: {sorted(missing)}"


@pytest.mark.parametrize("service", sorted(set(SERVICES) - NOT_YET))
def test_no_service_or_method_names_as_strings_at_the_gateway(service):
    """A converted service is called through its declarations (``ctx.invoke(op)``), never by name."""
    pattern = re.compile(rf"""\.call\(\s*["']{service}["']\s*,\s*["'](\w+)["']""")
    found = [
        f"{path.relative_to(ROOT)}:{text[: match.start()].count(chr(10)) + 1}"
        for path in sorted((ROOT / "gateway").rglob("*.py"))
        for text in [path.read_text()]
        for match in pattern.finditer(text)
        if match.group(1) not in INTERNAL[service]
    ]
    assert not found, f"calls to {service} by name: {found}"


def _sdl_requirement(root: str, field: str) -> tuple[str, str | None]:
    node = SDL.get_type(root).fields[field].ast_node
    for directive in node.directives:
        name = directive.name.value
        if name == "auth":
            return ("auth", directive.arguments[0].value.value)
        if name in ("authenticated", "public"):
            return (name, None)
    raise AssertionError(f"{root}.{field} has no access directive in the SDL")


def _expected(op: Operation) -> tuple[str, str | None]:
    if op.access is Access.PUBLIC:
        return ("public", None)
    if op.access is Access.AUTHENTICATED:
        return ("authenticated", None)
    return ("auth", op.access.name)


def test_graphql_fields_print_the_declared_access():
    from gateway.graphql.permissions import OPERATION_METADATA
    from gateway.graphql.schema import Mutation, Query, Subscription, schema

    exposed: dict[Operation, list[str]] = {}
    for root in (Query, Mutation, Subscription):
        definition = root.__strawberry_definition__
        for field in definition.fields:
            op = field.metadata.get(OPERATION_METADATA)
            if op is None:
                continue
            graphql_name = schema.config.name_converter.get_graphql_name(field)
            assert _sdl_requirement(definition.name, graphql_name) == _expected(op), (
                f"{definition.name}.{graphql_name}: the SDL's directive is not {op}'s access {op.access}"
            )
            exposed.setdefault(op, []).append(graphql_name)
    assert exposed, "no field is declared with operation_field"


def test_operation_field_takes_access_and_description_from_the_declaration():
    from gateway.graphql.permissions import operation_field
    from schema import auth

    with pytest.raises(TypeError, match="public"):
        operation_field(auth.LOGIN)  # a public field must say why it is open
    with pytest.raises(TypeError, match="not public"):
        operation_field(auth.ME, reason="no")
    field = operation_field(auth.SESSIONS)
    assert field.description == auth.SESSIONS.doc
    assert [type(e).__name__ for e in field.extensions] == ["PermissionExtension"]
