"""Input validation with field-level errors: the one path every input takes.

``parse(Model, data)`` returns the model or raises ``BadUserInput`` whose
``fields`` maps each offending field (in the API's camelCase, nested ones as
``filter.since``) to the first rule it broke. Nothing is rewritten: a value is
accepted as sent, or refused. The services' entrypoints parse through it
(``schema/contract.py``), and so does the gateway before it sends a call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar, overload

from pydantic import BaseModel, ValidationError

from schema.errors import BadUserInput

M = TypeVar("M", bound=BaseModel)

# Control characters (C0, DEL, C1) and the bidirectional overrides/isolates that make
# "gpj.exe" read as "exe.jpg": refused in titles, names and file names, which end up in
# headers (Content-Disposition), logs and other users' screens.
UNSAFE_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


@overload
def plain_text(value: str) -> str: ...
@overload
def plain_text(value: None) -> None: ...
def plain_text(value: str | None) -> str | None:
    """A field validator: refuses control characters and bidi controls, changes nothing."""
    if value is not None and UNSAFE_TEXT.search(value):
        raise ValueError("must not contain control characters or bidirectional text controls")
    return value


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def parse(model: type[M], data: Any) -> M:
    """``data`` (a mapping, or a model instance) as ``model``, or ``BadUserInput`` naming each field."""
    if isinstance(data, model):
        return data
    if not isinstance(data, (Mapping, BaseModel)):
        raise BadUserInput.for_fields({"input": "must be an object"})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for error in exc.errors():
            path = ".".join(camel(str(part)) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            if not path and ": " in message:  # a model-level rule about one field
                path, message = message.split(": ", 1)
            path = path or "input"
            fields.setdefault(path, message)
        raise BadUserInput.for_fields(fields) from None
