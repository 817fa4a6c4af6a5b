"""The services' Nameko container (``SERVICE_CONTAINER_CLS`` in ``services/config.yaml``).

Nameko's ``ServiceContainer._run_worker`` wraps every worker in four timing
context managers whose DEBUG lines are dropped at our log levels, yet each one
still formats its message, reads the clock twice and calls the logger; it also
joins the call-id stack for one more dropped DEBUG line. About a tenth of the
Python calls of an echo RPC (``bench/rpc.py``). This container runs the same
steps in the same order (dependencies injected, ``worker_setup``, the method,
``handle_result``, ``worker_result``, ``worker_teardown``) and logs a failing
worker as Nameko does (same logger, messages and levels); with DEBUG enabled
for ``nameko.containers`` it is Nameko's own ``_run_worker``, timings included.

Once started, it takes what the service loaded out of the garbage collector's view
(``freeze_startup_objects``), and makes a SIGTERM after the first one harmless
(``stop_once_on_sigterm``).
"""

from __future__ import annotations

import gc
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

from nameko import containers
from nameko.constants import AMQP_SSL_CONFIG_KEY

from core.settings import CommonSettings

log = logging.getLogger(containers.__name__)  # Nameko's, so core.logs.QuietExpected still applies


def with_broker_tls(config: dict[str, Any]) -> dict[str, Any]:
    """Nameko's config with TLS to the broker from the same AGENTHUB_AMQP_* variables as the
    gateway, unless the config file sets Nameko's own ``AMQP_SSL`` (the services, ``agenthub shell``)."""
    if config.get(AMQP_SSL_CONFIG_KEY) is None:
        config[AMQP_SSL_CONFIG_KEY] = CommonSettings().amqp_ssl_options()
    return config


def freeze_startup_objects() -> None:
    """What the service loaded at start (modules, the embedding model, the store, the pools) leaves
    the garbage collector's view for good (``gc.freeze``): in the rag process a full collection
    walked all of it, 80-100 ms on the hub, and every RPC of the process waited meanwhile. Later
    full collections walk only what was made since."""
    gc.collect()
    gc.freeze()


def stop_once_on_sigterm() -> None:
    """Later SIGTERMs leave the stop that the first one started to finish.

    ``nameko run`` starts ``ServiceRunner.stop`` on every SIGTERM. A second one while the first stop
    is under way (an operator's second ``kill``, a supervisor's retry) stopped the extensions
    again: Nameko's timer sent its stop event twice (``AssertionError``), and the process hung
    until SIGKILL. Without Nameko's handler (a test runner, a shell), or off the main thread, it
    changes nothing.
    """
    handler = signal.getsignal(signal.SIGTERM)
    if not callable(handler) or getattr(handler, "stops_once", False):
        return
    received: list[int] = []

    def first_only(signum: int, frame: Any) -> None:
        if not received:
            received.append(signum)
            handler(signum, frame)

    first_only.stops_once = True  # type: ignore[attr-defined]
    try:
        signal.signal(signal.SIGTERM, first_only)
    except ValueError:  # not the main thread: not under ``nameko run``, whose handler this guards
        pass


class ServiceContainer(containers.ServiceContainer):
    def __init__(self, service_cls: type, config: dict[str, Any]) -> None:
        super().__init__(service_cls, with_broker_tls(config))

    def start(self) -> None:
        stop_once_on_sigterm()  # before the start: a SIGTERM may come as soon as a queue is consumed
        super().start()
        freeze_startup_objects()
        log.info("started %s", self.service_name)  # every extension: a stop from here on is a clean one

    def _run_worker(self, worker_ctx: Any, handle_result: Callable[..., Any] | None) -> None:
        if log.isEnabledFor(logging.DEBUG):
            super()._run_worker(worker_ctx, handle_result)
            return
        self._inject_dependencies(worker_ctx)
        self._worker_setup(worker_ctx)
        result = exc_info = None
        method = getattr(worker_ctx.service, worker_ctx.entrypoint.method_name)
        try:
            result = method(*worker_ctx.args, **worker_ctx.kwargs)
        except Exception as exc:
            if isinstance(exc, worker_ctx.entrypoint.expected_exceptions):
                log.warning("(expected) error handling worker %s: %s", worker_ctx, exc, exc_info=True)
            else:
                log.exception("error handling worker %s: %s", worker_ctx, exc)
            exc_info = sys.exc_info()
        if handle_result is not None:
            result, exc_info = handle_result(worker_ctx, result, exc_info)
        self._worker_result(worker_ctx, result, exc_info)
        del exc_info  # as Nameko: break the traceback's cycle before teardown
        self._worker_teardown(worker_ctx)
