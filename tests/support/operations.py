"""Build a minimal valid GraphQL operation for any root field, from the schema.

The RBAC test uses it to call every operation as every role without a
hand-written list, so a new field is covered the day it is added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
    get_named_type,
)

DUMMY_ID = "00000000-0000-4000-8000-000000000000"
SCALARS = {
    "ID": DUMMY_ID,
    "String": "rbac-probe",
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "DateTime": "2099-01-01T00:00:00+00:00",
    "JSON": {},
    "Date": "2099-01-01",
}
REQUIREMENT_DIRECTIVES = ("auth", "authenticated", "public")


@dataclass(frozen=True)
class Operation:
    root: str  # query | mutation | subscription
    field: str
    requirement: tuple[str, str | None] | None  # ("auth", "MANAGE_USERS"), ("authenticated", None), ("public", None)
    document: str
    variables: dict[str, Any]
    uploads: tuple[str, ...]  # variable paths that need a file


def _requirement(field: GraphQLField) -> tuple[str, str | None] | None:
    node = field.ast_node
    for directive in node.directives if node else []:
        name = directive.name.value
        if name == "auth":
            return ("auth", directive.arguments[0].value.value)
        if name in ("authenticated", "public"):
            return (name, None)
    return None


def _value(type_: Any, path: str, uploads: list[str]) -> Any:
    if isinstance(type_, GraphQLNonNull):
        return _value(type_.of_type, path, uploads)
    if isinstance(type_, GraphQLList):
        return [_value(type_.of_type, f"{path}.0", uploads)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {
            name: _value(f.type, f"{path}.{name}", uploads)
            for name, f in type_.fields.items()
            if isinstance(f.type, GraphQLNonNull)
        }
    if isinstance(type_, GraphQLScalarType):
        if type_.name == "Upload":
            uploads.append(path)
            return None
        return SCALARS.get(type_.name, "rbac-probe")
    raise TypeError(f"no dummy value for {type_}")


def _selection(type_: Any) -> str:
    named = get_named_type(type_)
    if isinstance(named, (GraphQLObjectType, GraphQLUnionType, GraphQLInterfaceType)):
        return " { __typename }"
    return ""


def operations(sdl: str) -> list[Operation]:
    schema: GraphQLSchema = build_schema(sdl)
    found = []
    for root, type_ in (
        ("query", schema.query_type),
        ("mutation", schema.mutation_type),
        ("subscription", schema.subscription_type),
    ):
        if type_ is None:
            continue
        for name, field in type_.fields.items():
            uploads: list[str] = []
            variables, declarations, arguments = {}, [], []
            for arg_name, arg in field.args.items():
                if not isinstance(arg.type, GraphQLNonNull):
                    continue
                variables[arg_name] = _value(arg.type, f"variables.{arg_name}", uploads)
                declarations.append(f"${arg_name}: {arg.type}")
                arguments.append(f"{arg_name}: ${arg_name}")
            header = f"{root} Probe({', '.join(declarations)})" if declarations else f"{root} Probe"
            call = f"{name}({', '.join(arguments)})" if arguments else name
            document = f"{header} {{ {call}{_selection(field.type)} }}"
            found.append(Operation(root, name, _requirement(field), document, variables, tuple(uploads)))
    return found
