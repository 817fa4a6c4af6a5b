"""A service as the release before ``@status_probe`` (44e4482) ran: ``health`` over its RPC queue only.

It answers ``health`` with the same report as today's services (name, version, instance, in-flight
workers), but has no queue on the fanout exchange ``agenthub.status``, so one request there does not
reach it: what ``agenthub status`` meets during a rolling upgrade. Its service name comes from
``PREVIOUS_RELEASE_SERVICE`` (default ``auth``), its version from ``PREVIOUS_RELEASE_VERSION``.
"""

import os

from services.common.health import report
from services.common.rpc import rpc  # what every AgentHub service uses


class PreviousRelease:
    name = os.environ.get("PREVIOUS_RELEASE_SERVICE", "auth")

    @rpc
    def health(self) -> dict:
        return report(self.name, os.environ.get("PREVIOUS_RELEASE_VERSION", "0.0.9"), {}).model_dump(mode="json")
