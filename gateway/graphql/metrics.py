"""Per GraphQL operation: count, duration and errors by ``extensions.code``.

The ``operation`` label is the operation's root field when it has one (bounded by
the schema), ``multiple`` when it selects several, ``invalid`` when it cannot be
resolved against the schema — never the client-chosen operation name.

``record`` is called by ``ErrorConvention`` when an operation ends, after the errors have their
codes: a Strawberry extension of its own cost about 10 µs of CPU per request (the extension and
a context manager per hook, made per request), more than the metrics themselves. The labels of a
document are computed once (``ParserCache`` hands every request with the same text the same
document). Active subscriptions are counted in ``gateway.graphql.live``, which every
subscription runs through.
"""

from __future__ import annotations

import time

from graphql import FieldNode, GraphQLSchema
from graphql.language import DocumentNode
from graphql.utilities import get_operation_ast
from strawberry.types import ExecutionContext

from core import metrics
from schema.errors import CODES

# (id of the document, operation name, id of the schema) -> (document, schema, labels); the
# document and schema are kept so that an id is never reused while its entry lives.
_labels: dict[tuple[int, str | None, int], tuple[DocumentNode, GraphQLSchema, tuple[str, str]]] = {}
LABELS_CACHED = 1024  # distinct documents (ParserCache keeps as many)


def _compute(document: DocumentNode, name: str | None, schema: GraphQLSchema) -> tuple[str, str]:
    operation = get_operation_ast(document, name)
    if operation is None:
        return "unknown", "invalid"
    kind = operation.operation.value  # query, mutation, subscription
    root = schema.get_root_type(operation.operation)
    fields = {s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode)}
    fields.discard("__typename")
    if root is None or not fields <= root.fields.keys():
        return kind, "invalid"
    if len(fields) != 1:
        return kind, "multiple" if fields else "invalid"
    return kind, fields.pop()


def operation_labels(execution_context: ExecutionContext) -> tuple[str, str]:
    """(type, root field) of the operation being executed, both bounded."""
    document = execution_context.graphql_document
    if document is None:
        return "unknown", "invalid"
    name = execution_context.operation_name
    schema = execution_context.schema._schema
    key = (id(document), name, id(schema))
    cached = _labels.get(key)
    if cached is not None and cached[0] is document and cached[1] is schema:
        return cached[2]
    labels = _compute(document, name, schema)
    if len(_labels) >= LABELS_CACHED:
        _labels.clear()
    _labels[key] = (document, schema, labels)
    return labels


def record(execution_context: ExecutionContext, started: float) -> None:
    """An operation that began at ``started`` (``time.perf_counter``) has ended: count it, time it
    (not a subscription: a lifetime is not a latency) and count its errors by code."""
    kind, operation = operation_labels(execution_context)
    metrics.OPERATIONS.record(kind, operation, None if kind == "subscription" else time.perf_counter() - started)
    for error in getattr(execution_context.result, "errors", None) or ():
        code = (error.extensions or {}).get("code")
        metrics.GRAPHQL_ERRORS.labels(kind, operation, code if code in CODES else "INTERNAL").inc()
