"""Run an AgentHub process whose instrumentation ``bench/observability.py`` switches while it runs.

``python -m bench.switch <module> [args…]`` runs ``python -m <module> [args…]`` (``agenthub
gateway …``, ``nameko run …``) after installing a ``SIGUSR1`` handler. On the signal it reads
``<state> <seq>`` from the file named by ``AGENTHUB_BENCH_SWITCH``, notes its CPU time so far
(every thread but the span exporters', in ns: ``time.process_time_ns``), the HTTP requests it has
finished (the gateway: ``RequestContextMiddleware`` calls that returned) and the CPU of each
provider's export thread, puts the process in the new state, and writes ``<seq> <cpu ns>
<requests> <provider>=<export ns>…`` to ``<file>.<pid>``. Two consecutive answers delimit what
one state cost, at boundaries the process draws itself (the gateway switches between two
event-loop callbacks, so no request's work is split by a clock read from outside). Spans are
exported on the SDK's own schedule (every 5 s, in batches, as in production: a flush per switch
would post once per round and charge a round a post's fixed cost); their export threads' CPU
belongs to the state whose provider they serve, whenever it runs. The state ``flush`` exports
what is still queued and changes nothing else. The states:

* ``baseline``: every metric (and tally) replaced by a no-op (what ``AGENTHUB_METRICS_DISABLED=1`` does at
  import) and the gateway's GraphQL operation hook (``gateway.graphql.metrics.record``: its
  labels) skipped, no span exported — trace ids are still made, carried and logged;
* ``metrics``: the default of a deployment without ``OTEL_EXPORTER_OTLP_ENDPOINT``;
* ``otlp``: also spans exported, through the provider ``core.tracing.configure`` built at start-up
  (the process is started with ``OTEL_EXPORTER_OTLP_ENDPOINT``): the default sampler;
* ``otlp-all``: the same exporter with every trace sampled (``parentbased_always_on``).

Why switch one process rather than start one stack per configuration: separate processes of the
same configuration differ by up to ±20 % in CPU per request (memory layout, hash seeds, which
core they share), far more than the effect measured.
"""

from __future__ import annotations

import asyncio
import os
import runpy
import signal
import sys
import time
from pathlib import Path
from typing import Any

STATES = ("baseline", "metrics", "otlp", "otlp-all")

_metrics: dict[str, Any] = {}  # the real metric objects of core.metrics, by name
_providers: dict[str, Any] = {}
_record: list[Any] = []  # the gateway's gateway.graphql.metrics.record, when it has one
_served = [0]  # HTTP requests the gateway has finished


def _skip(*args: Any) -> None:
    pass


def _apply(state: str) -> None:
    from prometheus_client.metrics import MetricWrapperBase

    from core import metrics, tracing

    if not _metrics:
        kinds = (MetricWrapperBase, metrics.CountTally, metrics.Operations)
        _metrics.update({name: value for name, value in vars(metrics).items() if isinstance(value, kinds)})
    if not _providers:
        if tracing._provider is None:
            raise RuntimeError("started without OTEL_EXPORTER_OTLP_ENDPOINT: nothing to switch on")
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased

        everything = TracerProvider(resource=tracing._provider.resource, sampler=ParentBased(ALWAYS_ON))
        everything.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        _providers.update({"otlp": tracing._provider, "otlp-all": everything})
    for name, real in _metrics.items():
        setattr(metrics, name, metrics._Off() if state == "baseline" else real)
    operations = sys.modules.get("gateway.graphql.metrics")
    if operations is not None:
        if not _record:
            _record.append(operations.record)
        operations.record = _skip if state == "baseline" else _record[0]
    tracing.install(_providers.get(state))


def _exporters(provider: Any) -> list[Any]:
    """The export threads of ``provider``'s batch processors (the SDK's private attributes)."""
    processors = getattr(getattr(provider, "_active_span_processor", None), "_span_processors", ())
    threads = [getattr(getattr(p, "_batch_processor", None), "_worker_thread", None) for p in processors]
    return [thread for thread in threads if thread is not None]


def _thread_cpu_ns(thread: Any) -> int:
    try:
        return time.clock_gettime_ns(time.pthread_getcpuclockid(thread.ident))
    except (OSError, TypeError, ValueError, OverflowError):  # a green thread (eventlet), or ended
        return 0


def _switch() -> None:
    control = Path(os.environ["AGENTHUB_BENCH_SWITCH"])
    state, seq = control.read_text().split()
    if state not in (*STATES, "flush"):
        raise ValueError(f"unknown state {state!r}")
    if state == "flush":  # the end: what is still queued is exported (in the export threads)
        for provider in _providers.values():
            provider.force_flush()
    exporting = {name: sum(_thread_cpu_ns(t) for t in _exporters(provider)) for name, provider in _providers.items()}
    cpu, served = time.process_time_ns() - sum(exporting.values()), _served[0]
    if state != "flush":
        _apply(state)
    ack, draft = Path(f"{control}.{os.getpid()}"), Path(f"{control}.{os.getpid()}.tmp")
    draft.write_text(" ".join([seq, str(cpu), str(served), *(f"{k}={v}" for k, v in exporting.items())]))
    os.replace(draft, ack)  # never read half-written


_wake: list[int] = []  # under eventlet: the write end of the pipe a green thread waits on


def _watch(read: int) -> None:
    import eventlet.patcher
    from eventlet.hubs import trampoline

    unpatched = eventlet.patcher.original("os")
    while True:
        trampoline(read, read=True)
        unpatched.read(read, 512)
        _switch()


def _on_signal(signum: int, frame: Any) -> None:
    if "eventlet" in sys.modules:
        import eventlet.patcher

        if eventlet.patcher.is_monkey_patched("thread"):
            # Nameko: the handler may run in eventlet's hub, which must not block (force_flush
            # waits for the exporter's green thread): the switch runs in a green thread. One
            # spawned from here would wait until the hub's poll times out (up to a second: the
            # next timer); a green thread waiting on a pipe wakes as soon as a byte is written.
            if _wake:
                eventlet.patcher.original("os").write(_wake[0], b"s")  # the green one would wait on the hub
                return
            read, write = os.pipe()
            os.set_blocking(read, False)
            _wake.append(write)
            eventlet.spawn_n(_watch, read)
            eventlet.spawn_n(_switch)  # the first switch (the warm-up's) waits for the hub
            return
    try:
        loop = asyncio.get_running_loop()  # the gateway: the handler runs in the loop's thread
    except RuntimeError:
        _switch()
        return
    loop.call_soon_threadsafe(_switch)  # between two callbacks, not in the middle of one


def _count_requests() -> None:
    """The gateway counts the HTTP requests it finishes (one more coroutine frame per request,
    in every state)."""
    from gateway.requests import RequestContextMiddleware

    handle = RequestContextMiddleware.__call__

    async def counted(self: Any, scope: Any, receive: Any, send: Any) -> None:
        try:
            await handle(self, scope, receive, send)
        finally:
            _served[0] += 1

    RequestContextMiddleware.__call__ = counted  # type: ignore[method-assign]


def main() -> None:
    signal.signal(signal.SIGUSR1, _on_signal)
    module, sys.argv = sys.argv[1], sys.argv[1:]
    if module == "agenthub":
        _count_requests()
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
