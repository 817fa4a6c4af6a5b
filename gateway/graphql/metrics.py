"""Per GraphQL operation: count, duration and errors by ``extensions.code``; the
subscriptions running now.

The ``operation`` label is the operation's root field when it has one (bounded by
the schema), ``multiple`` when it selects several, ``invalid`` when it cannot be
resolved against the schema — never the client-chosen operation name.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from graphql import FieldNode, OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from core import metrics


def operation_labels(execution_context: ExecutionContext) -> tuple[str, str]:
    """(type, root field) of the operation being executed, both bounded."""
    document = execution_context.graphql_document
    if document is None:
        return "unknown", "invalid"
    name = execution_context.operation_name
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [d for d in operations if name is None or (d.name and d.name.value == name)]
    if len(chosen) != 1:
        return "unknown", "invalid"
    operation = chosen[0]
    kind = operation.operation.value  # query, mutation, subscription
    root = execution_context.schema._schema.get_root_type(operation.operation)
    fields = {s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode)}
    fields.discard("__typename")
    if root is None or not fields <= set(root.fields):
        return kind, "invalid"
    if len(fields) != 1:
        return kind, "multiple" if fields else "invalid"
    return kind, fields.pop()


class OperationMetrics(SchemaExtension):
    """Strawberry wraps a subscription's whole life in ``on_operation``: it is counted
    as active from its execution to its end, and its lifetime is not a duration."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        self.subscribed = False
        try:
            yield
        finally:
            if self.subscribed:
                metrics.SUBSCRIPTIONS.dec()
            context = self.execution_context
            kind, operation = operation_labels(context)
            metrics.GRAPHQL_OPERATIONS.labels(kind, operation).inc()
            if not self.subscribed:
                metrics.GRAPHQL_DURATION.labels(kind, operation).observe(time.perf_counter() - started)
            for error in getattr(context.result, "errors", None) or ():
                code = (error.extensions or {}).get("code")
                metrics.GRAPHQL_ERRORS.labels(kind, operation, code if code in metrics.CODES else "INTERNAL").inc()

    def on_execute(self) -> Iterator[None]:
        if self.execution_context.operation_type.value == "subscription":
            self.subscribed = True
            metrics.SUBSCRIPTIONS.inc()
        yield
