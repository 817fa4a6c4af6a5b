"""Stopping another green thread safely.

``GreenThread.kill`` throws into its target at once, from the calling green
thread. When that caller was woken by the hub's poll, the hub is part-way
through a batch of callbacks it collected before calling any (eventlet's
``hubs/poll.py``). If the target was waiting on a socket that was ready in the
same batch, its listener is still in that batch: the hub later calls it and
switches into the target with the socket's number, wherever the target now
waits. A run cancelled that way received the number inside Redis' ``select``
while recording its end (``TypeError: cannot unpack non-iterable int``), and
the exception stopped the whole service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventlet import hubs


def interrupt(thread: Any, error: BaseException, when: Callable[[], bool] | None = None) -> None:
    """Raises ``error`` in ``thread`` from the hub's timers, where no batch of socket callbacks is
    being called; the caller goes on at once (wait on ``thread`` to know it ended). ``when``, asked
    at that moment: raise only if it is still true (the thread may have begun to end by itself)."""

    def throw() -> None:
        if when is None or when():
            thread.kill(error)

    hubs.get_hub().schedule_call_global(0, throw)
