"""Run an AgentHub process whose instrumentation ``bench/observability.py`` switches while it runs.

``python -m bench.switch <module> [args…]`` runs ``python -m <module> [args…]`` (``agenthub
gateway …``, ``nameko run …``) after installing a ``SIGUSR1`` handler. On the signal it reads
``<state> <seq>`` from the file named by ``AGENTHUB_BENCH_SWITCH``, puts the process in that
state, flushes the spans queued so far (so their export is paid inside the round that made
them), and writes ``<seq>`` to ``<file>.<pid>``:

* ``baseline``: every metric replaced by a no-op (what ``AGENTHUB_METRICS_DISABLED=1`` does at
  import), no span exported — trace ids are still made, carried and logged;
* ``metrics``: the default of a deployment without ``OTEL_EXPORTER_OTLP_ENDPOINT``;
* ``otlp``: also spans exported, through the provider ``core.tracing.configure`` built at start-up
  (the process is started with ``OTEL_EXPORTER_OTLP_ENDPOINT``): the default sampler;
* ``otlp-all``: the same exporter with every trace sampled (``parentbased_always_on``).

Why switch one process rather than start one stack per configuration: separate processes of the
same configuration differ by up to ±20 % in CPU per request (memory layout, hash seeds, which
core they share), far more than the effect measured.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
from pathlib import Path
from typing import Any

STATES = ("baseline", "metrics", "otlp", "otlp-all")

_metrics: dict[str, Any] = {}  # the real metric objects of core.metrics, by name
_providers: dict[str, Any] = {}


def _apply(state: str) -> None:
    from prometheus_client.metrics import MetricWrapperBase

    from core import metrics, tracing

    if not _metrics:
        _metrics.update({name: value for name, value in vars(metrics).items() if isinstance(value, MetricWrapperBase)})
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
    if tracing._provider is not None:
        tracing._provider.force_flush()  # the round that queued them pays for their export
    for name, real in _metrics.items():
        setattr(metrics, name, metrics._Off() if state == "baseline" else real)
    tracing.install(_providers.get(state))


def _on_signal(signum: int, frame: Any) -> None:
    control = Path(os.environ["AGENTHUB_BENCH_SWITCH"])

    def switch() -> None:
        state, seq = control.read_text().split()
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        _apply(state)
        Path(f"{control}.{os.getpid()}").write_text(seq)

    if "eventlet" in sys.modules:
        import eventlet.patcher

        if eventlet.patcher.is_monkey_patched("thread"):
            # Nameko: the handler may run in eventlet's hub, which must not block (force_flush
            # waits for the exporter's green thread): do it in a green thread of its own.
            eventlet.spawn_n(switch)
            return
    switch()  # the gateway: the handler runs in the event loop's thread, between two callbacks


def main() -> None:
    signal.signal(signal.SIGUSR1, _on_signal)
    module, sys.argv = sys.argv[1], sys.argv[1:]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
