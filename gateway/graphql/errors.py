"""The error convention: every error carries ``extensions.code``; anything
unexpected is masked as ``Unexpected error.`` with the request id, and logged
in full under that id."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.error import GraphQLError
from graphql.language import DocumentNode
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult

from core.redis_client import is_redis_down, redis_unavailable
from gateway.graphql import metrics as operation_metrics
from gateway.requests import annotate, current_request_id
from schema.errors import CODES, AgentHubError

log = logging.getLogger("agenthub.gateway")

MASKED_MESSAGE = "Unexpected error."


def conventional(error: GraphQLError) -> GraphQLError:
    """The client-facing version of ``error``. Idempotent."""
    original = error.original_error
    code = (error.extensions or {}).get("code")
    if isinstance(original, AgentHubError):
        error.extensions = original.extensions
        return error
    if original is None and code in CODES:
        return error
    if original is not None and is_redis_down(original):
        log.warning(
            "redis unavailable",
            extra={"fields": {"request_id": current_request_id(), "path": error.path, "error": str(original)[:200]}},
        )
        unavailable = redis_unavailable()
        return GraphQLError(
            message=unavailable.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions=unavailable.extensions,
        )
    if original is None:
        # Parse and validation errors (including depth, alias and token limits)
        # are the client's: keep graphql-core's message, which names the problem.
        error.extensions = {**(error.extensions or {}), "code": "BAD_USER_INPUT"}
        return error
    request_id = current_request_id()
    log.error("unexpected error", exc_info=original, extra={"fields": {"request_id": request_id, "path": error.path}})
    return GraphQLError(
        message=MASKED_MESSAGE,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions={"code": "INTERNAL", "requestId": request_id},
    )


def apply_convention(result: object) -> None:
    errors = getattr(result, "errors", None)
    if errors:
        converted = [conventional(error) for error in errors]
        result.errors = converted  # type: ignore[attr-defined]  # strawberry's or graphql-core's ExecutionResult
        annotate(outcome=",".join(sorted({str((e.extensions or {}).get("code")) for e in converted})))


def _root_fields(document: DocumentNode | None) -> str:
    """``ask`` or ``login,me``: the root fields of an unnamed operation (at most three)."""
    names = [
        selection.name.value
        for definition in getattr(document, "definitions", None) or []
        if getattr(definition, "selection_set", None) is not None and hasattr(definition, "operation")
        for selection in definition.selection_set.selections
        if hasattr(selection, "name")
    ]
    return ",".join(names[:3]) + (",…" if len(names) > 3 else "")


class ErrorConvention(SchemaExtension):
    """Applies ``conventional`` to every result, queries and subscriptions alike, then records the
    operation's metrics (``gateway.graphql.metrics.record``: they see the errors with their codes;
    one extension rather than two, since each costs Strawberry about 5 µs per request)."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        annotate(operation=self.execution_context.operation_name or "anonymous")
        try:
            yield
            if not self.execution_context.operation_name:  # a log line that says what was asked
                fields = _root_fields(self.execution_context.graphql_document)
                if fields:
                    annotate(operation=fields)
            result = self.execution_context.result
            if isinstance(result, (GraphQLExecutionResult, ExecutionResult)):
                apply_convention(result)
        finally:
            operation_metrics.record(self.execution_context, started)
