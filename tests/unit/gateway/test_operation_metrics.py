"""The GraphQL operation's labels: bounded, and computed once per parsed document."""

from __future__ import annotations

from types import SimpleNamespace

from graphql import parse

from gateway.graphql import metrics as operation_metrics
from gateway.graphql.schema import schema


def labels(query: str, name: str | None = None, document=None) -> tuple[str, str]:
    context = SimpleNamespace(graphql_document=document or parse(query), operation_name=name, schema=schema)
    return operation_metrics.operation_labels(context)  # type: ignore[arg-type]


def test_labels_are_the_root_field_multiple_or_invalid():
    assert labels("{ me { id } }") == ("query", "me")
    assert labels("{ __typename me { id } }") == ("query", "me")
    assert labels("{ health { status } me { id } }") == ("query", "multiple")
    assert labels("{ nothingLikeThis }") == ("query", "invalid")
    assert labels("query A { me { id } } query B { health { status } }", "B") == ("query", "health")
    assert labels("query A { me { id } } query B { health { status } }") == ("unknown", "invalid")
    assert labels("subscription { health { status } }") == ("subscription", "health")


def test_a_document_is_labelled_once():
    document = parse("{ me { id } }")
    assert labels("", document=document) == ("query", "me")
    key = (id(document), None, id(schema._schema))
    assert operation_metrics._labels[key][0] is document
    operation_metrics._labels[key] = (document, schema._schema, ("query", "cached"))
    assert labels("", document=document) == ("query", "cached")
    assert labels("", "Other", document=document) == ("unknown", "invalid")  # another operation name: its own entry
    del operation_metrics._labels[key]
