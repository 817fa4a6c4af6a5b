"""Every string and list argument of the schema is bounded, before any resolver runs.

``InputLimits`` checks each root field's arguments (walking input objects and
lists): a string longer than its maximum or a list longer than its count is
``BAD_USER_INPUT`` naming the argument's path and the rule, so no oversized
value reaches a service. The services validate again with their own models;
these bounds are the gateway's, for every field, including ones a service
forgot. ``MAX_LENGTHS`` / ``MAX_ITEMS`` list the exceptions to the defaults,
keyed ``field.argument[.inputField]`` in the API's spelling.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from graphql import GraphQLResolveInfo
from pydantic import BaseModel
from strawberry.extensions import SchemaExtension

from schema import agent, rag
from schema.agent import MAX_MESSAGE_CHARS
from schema.errors import BadUserInput
from schema.validation import camel

DEFAULT_MAX_LENGTH = 1000
DEFAULT_MAX_ITEMS = 100


def max_length(model: type[BaseModel], field: str) -> int:
    """The ``max_length`` an input model declares for a field: the edge's bound is the contract's."""
    return int(next(rule.max_length for rule in model.model_fields[field].metadata if hasattr(rule, "max_length")))


MAX_LENGTHS: dict[str, int] = {
    "login.input.password": 128,
    "register.input.password": 128,
    "refreshToken.refreshToken": 200,
    "runAgent.input.message": MAX_MESSAGE_CHARS,
    "agentRun.input.message": MAX_MESSAGE_CHARS,
    "setSystemPrompt.prompt": max_length(agent.SystemPromptInput, "prompt"),
    "ask.question": max_length(rag.AskInput, "question"),
    "search.query": max_length(rag.SearchInput, "query"),
    "ingestText.input.title": max_length(rag.IngestTextInput, "title"),
    "ingestText.input.text": 1024 * 1024,  # the JSON body limit bounds it first
}
MAX_ITEMS: dict[str, int] = {
    "createApiKey.input.scopes": 20,
    # uploadDocuments.files: the default bound; its resolver enforces AGENTHUB_RAG_MAX_FILES (at most as many).
}


def check_arguments(field: str, arguments: Mapping[str, Any]) -> None:
    """Raise ``BadUserInput`` naming every argument over its bound."""
    problems: dict[str, str] = {}
    for name, value in arguments.items():
        _walk(f"{field}.{camel(name)}", value, problems)
    if problems:
        raise BadUserInput.for_fields({path.split(".", 1)[1]: rule for path, rule in problems.items()})


def _walk(path: str, value: Any, problems: dict[str, str]) -> None:
    if isinstance(value, str):
        limit = MAX_LENGTHS.get(path, DEFAULT_MAX_LENGTH)
        if len(value) > limit:
            problems[path] = f"must be at most {limit} characters"
    elif isinstance(value, (list, tuple)):
        limit = MAX_ITEMS.get(path, DEFAULT_MAX_ITEMS)
        if len(value) > limit:
            problems[path] = f"must have at most {limit} items"
            return
        for item in value:
            _walk(path, item, problems)
    elif isinstance(value, Mapping):
        if path.endswith(".metadata"):
            return  # JSON metadata: bounded by its own rules in the rag service
        for key, item in value.items():
            _walk(f"{path}.{camel(str(key))}", item, problems)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            _walk(f"{path}.{camel(item.name)}", getattr(value, item.name), problems)


class InputLimits(SchemaExtension):
    def resolve(
        self, _next: Callable[..., Any], root: Any, info: GraphQLResolveInfo[Any], *args: Any, **kwargs: Any
    ) -> Any:
        if kwargs:
            check_arguments(info.field_name, kwargs)
        return _next(root, info, *args, **kwargs)
