"""Run CPU-bound or blocking C code off the eventlet hub.

Inside a Nameko service (eventlet, threads monkey-patched) ``fn`` runs in a real OS
thread (``eventlet.tpool``), so the hub keeps serving other workers and AMQP heartbeats;
anywhere else (the gateway, tests, the CLI) it is a plain call.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def offloading() -> bool:
    """True in a process whose threads eventlet has monkey-patched."""
    if "eventlet" not in sys.modules:
        return False
    from eventlet import patcher

    return bool(patcher.is_monkey_patched("thread"))


def offload(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    if offloading():
        from eventlet import tpool

        return tpool.execute(fn, *args, **kwargs)  # type: ignore[no-any-return]
    return fn(*args, **kwargs)
