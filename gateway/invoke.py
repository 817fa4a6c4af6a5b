"""Calling a declared operation (``schema/contract.py``) over the gateway's RPC client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from gateway.rpc import RpcClient
from schema.contract import Operation

I = TypeVar("I")  # noqa: E741 - as in schema/contract.py
O = TypeVar("O")  # noqa: E741 - the brief's name: Operation[I, O]


async def invoke(
    rpc: RpcClient,
    op: Operation[I, O],
    data: I | Mapping[str, Any] | None = None,
    *,
    timeout: float | None = None,
    context: Mapping[str, Any] | None = None,
) -> O:
    """Call ``op``; its reply parsed as ``op.output``.

    ``data`` is the input model, or a mapping (GraphQL arguments) parsed here by the same path the
    service uses: a bad input is BAD_USER_INPUT before any message is sent. Resolvers use
    ``Context.invoke``, which adds the caller's identity and request id.
    """
    arguments = op.call_arguments(op.parse_input(data)) if op.input is not None else {}
    reply = await rpc.call(
        op.service, op.name, (), arguments, context=context, timeout=op.timeout if timeout is None else timeout
    )
    return op.parse_output(reply)
