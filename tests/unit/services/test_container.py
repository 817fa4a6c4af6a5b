"""The services' container: what it does beyond Nameko's (services/common/container.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SERVICE = textwrap.dedent(
    """
    import eventlet
    eventlet.monkey_patch()
    import gc, json
    from nameko.extensions import DependencyProvider
    from services.common.container import ServiceContainer

    class Catalog(DependencyProvider):
        def setup(self):
            self.rows = [[n] for n in range(200_000)]  # what a service loads at start

    class Quiet:
        name = "quiet"
        catalog = Catalog()

    container = ServiceContainer(Quiet, {"AMQP_URI": "memory://"})
    before = gc.get_freeze_count()
    container.start()
    print(json.dumps({"before": before, "after": gc.get_freeze_count()}))
    container.stop()
    """
)


def test_what_the_service_loaded_at_start_leaves_the_garbage_collectors_view():
    """A full collection in a started service walks only what was made since the start: in the rag
    process one walked everything loaded at start (the model's session, the store, the pools, every
    module) in 80-100 ms of the hub, and every RPC of the process waited meanwhile."""
    shown = subprocess.run([sys.executable, "-c", SERVICE], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr[-2000:]
    counts = json.loads(shown.stdout.strip().splitlines()[-1])
    assert counts["before"] == 0 and counts["after"] > 200_000, counts
