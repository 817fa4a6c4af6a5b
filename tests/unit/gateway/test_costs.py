"""Rate-limit costs come from the operations' declarations (``Operation.cost``), per root type."""

from __future__ import annotations

import pytest
from graphql import OperationType, parse
from strawberry.schema.config import StrawberryConfig

from gateway.graphql.guard import operation_cost, root_field_costs
from gateway.graphql.schema import Mutation, Query, Subscription
from schema import agent, rag

COSTS = root_field_costs(
    {OperationType.QUERY: Query, OperationType.MUTATION: Mutation, OperationType.SUBSCRIPTION: Subscription},
    StrawberryConfig().name_converter,
)


def cost(document: str, operation_name: str | None = None) -> int:
    return operation_cost(parse(document), operation_name, COSTS)


def test_each_costly_field_costs_what_its_operation_declares():
    assert COSTS[(OperationType.MUTATION, "runAgent")] == agent.START_RUN.cost == 20
    assert COSTS[(OperationType.SUBSCRIPTION, "agentRun")] == agent.START_RUN.cost
    assert COSTS[(OperationType.QUERY, "ask")] == rag.ASK.cost
    assert COSTS[(OperationType.QUERY, "search")] == rag.SEARCH.cost
    assert COSTS[(OperationType.MUTATION, "uploadDocuments")] == rag.UPLOAD.cost
    assert COSTS[(OperationType.MUTATION, "ingestText")] == rag.INGEST_TEXT.cost
    assert all(value > 1 for value in COSTS.values())  # the default 1 is left out


def test_reading_a_run_does_not_cost_what_starting_one_does():
    # The same GraphQL name on two root types: keyed by name alone, reading a run cost 20.
    assert cost('{ agentRun(id: "r1") { id } }') == 1
    assert cost('subscription { agentRun(input: {message: "hi"}) { type } }') == 20


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ('{ a: ask(question: "x") { answer } b: ask(question: "y") { answer } }', 20),
        ('{ me { id } search(query: "x") { content } }', 4),
        (
            'query { ...F ... on Query { ask(question: "x") { answer } } } '
            'fragment F on Query { search(query: "x") { content } }',
            13,
        ),
        ("{ __typename }", 1),
    ],
)
def test_an_operation_costs_the_sum_of_its_root_fields(document, expected):
    assert cost(document) == expected


def test_the_named_operation_is_the_one_counted():
    document = 'query Cheap { me { id } } query Dear { ask(question: "x") { answer } }'
    assert cost(document, "Cheap") == 1
    assert cost(document, "Dear") == 10
