"""A WebSocket client that leaves while a subscription result is being sent to it is no error."""

from __future__ import annotations

import logging

import pytest
from starlette.websockets import WebSocketDisconnect
from strawberry.http.exceptions import WebSocketDisconnected
from uvicorn.protocols.utils import ClientDisconnected

from gateway.app import GraphQLView, TransportWSHandler


def test_the_view_runs_subscriptions_with_the_handler_that_knows_clients_leave():
    assert GraphQLView.graphql_transport_ws_handler_class is TransportWSHandler


@pytest.mark.parametrize("gone", [ClientDisconnected(), WebSocketDisconnected(), WebSocketDisconnect(1001)])
async def test_a_client_gone_during_a_send_ends_its_operation_without_an_error_in_the_log(caplog, gone):
    handler = object.__new__(TransportWSHandler)  # handle_task_exception needs none of its state
    with caplog.at_level(logging.DEBUG, logger="strawberry.ws.task"):
        await handler.handle_task_exception(gone)
    assert [record.levelno for record in caplog.records] == [logging.DEBUG]
    assert not any(record.exc_info for record in caplog.records)


async def test_any_other_failure_of_an_operation_is_still_logged_with_its_traceback(caplog):
    handler = object.__new__(TransportWSHandler)
    try:
        raise RuntimeError("a resolver's stream broke")
    except RuntimeError as error:
        with caplog.at_level(logging.DEBUG, logger="strawberry.ws.task"):
            await handler.handle_task_exception(error)
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert "Exception in worker task" in record.getMessage()
