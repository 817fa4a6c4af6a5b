"""Input validation with field-level errors.

``parse(Model, data)`` returns the model or raises ``BadUserInput`` whose
``fields`` maps each offending field (in the API's camelCase) to the rule it
broke. Nothing is rewritten: a value is accepted as sent, or refused.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from schema.errors import BadUserInput

M = TypeVar("M", bound=BaseModel)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def parse(model: type[M], data: Any) -> M:
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
