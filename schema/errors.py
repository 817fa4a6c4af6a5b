"""Typed domain errors that cross AMQP as themselves.

Every error carries one of the GraphQL ``extensions.code`` values of the
project's error convention. They are registered with Nameko's exception
registry (service-to-service calls) and with ``REGISTRY`` below (the gateway's
asyncio client), keyed by the same ``exc_path`` Nameko puts on the wire.

Nameko serialises ``exc.args``: strings and dicts survive, other values arrive
as strings, so every error is built from ``(message, details)`` only.
"""

from __future__ import annotations

from typing import Any

from nameko.exceptions import deserialize_to_instance, get_module_path

REGISTRY: dict[str, type[AgentHubError]] = {}


def register(cls: type[AgentHubError]) -> type[AgentHubError]:
    deserialize_to_instance(cls)
    REGISTRY[get_module_path(cls)] = cls
    return cls


class AgentHubError(Exception):
    """Base of every error a client may see; ``code`` is its GraphQL code."""

    code = "INTERNAL"

    def __init__(self, message: str = "", details: dict[str, Any] | None = None):
        self.message = message or self.__class__.__name__
        self.details = dict(details or {})
        super().__init__(self.message, self.details)

    @property
    def extensions(self) -> dict[str, Any]:
        """What graphql-core copies into the error's ``extensions``."""
        return {"code": self.code, **self.details}

    def __str__(self) -> str:
        return self.message


@register
class Unauthenticated(AgentHubError):
    code = "UNAUTHENTICATED"


@register
class Forbidden(AgentHubError):
    code = "FORBIDDEN"


@register
class BadUserInput(AgentHubError):
    """Invalid input; ``details["fields"]`` maps each field to the rule it broke."""

    code = "BAD_USER_INPUT"

    @classmethod
    def for_fields(cls, fields: dict[str, str], message: str | None = None) -> BadUserInput:
        summary = "; ".join(f"{name}: {rule}" for name, rule in fields.items())
        return cls(message or f"Invalid input: {summary}", {"fields": fields})


@register
class PayloadTooLarge(AgentHubError):
    """A request or message over a size limit; ``details["limit"]`` is the limit in bytes."""

    code = "PAYLOAD_TOO_LARGE"


@register
class NotFound(AgentHubError):
    code = "NOT_FOUND"


@register
class Conflict(AgentHubError):
    code = "CONFLICT"


@register
class RateLimited(AgentHubError):
    code = "RATE_LIMITED"

    @property
    def extensions(self) -> dict[str, Any]:
        extensions = super().extensions
        if "retryAfter" in extensions:  # crosses AMQP as a string
            extensions["retryAfter"] = int(float(extensions["retryAfter"]))
        return extensions


@register
class ServiceUnavailable(AgentHubError):
    code = "SERVICE_UNAVAILABLE"


@register
class Timeout(AgentHubError):
    code = "TIMEOUT"


# Every ``extensions.code`` of the convention: the registered errors' codes, and INTERNAL for the rest.
CODES = frozenset({AgentHubError.code, *(cls.code for cls in REGISTRY.values())})


def from_wire(error: dict[str, Any]) -> Exception:
    """Rebuild a remote error: a registered type as itself, anything else as RemoteError."""
    cls = REGISTRY.get(error.get("exc_path") or "")
    if cls is not None:
        args = error.get("exc_args") or []
        message = args[0] if args else ""
        details = args[1] if len(args) > 1 and isinstance(args[1], dict) else None
        return cls(message, details)
    return RemoteError(error.get("exc_type") or "Exception", error.get("value") or "")


class RemoteError(Exception):
    """An unexpected error inside a service. Never shown to clients as is."""

    def __init__(self, exc_type: str, value: str):
        self.exc_type = exc_type
        self.value = value
        super().__init__(f"{exc_type} {value}")
