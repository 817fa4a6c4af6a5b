"""A tiny Nameko service for the RPC client's tests and ``bench/rpc.py``.

Its name comes from ``ECHO_SERVICE_NAME`` so a test can start it under a name
whose queue already holds requests.
"""

import os

from schema.errors import NotFound
from services.common.dependencies import Redis
from services.common.identity import CallerProvider
from services.common.rpc import rpc  # what every AgentHub service uses


class EchoService:
    name = os.environ.get("ECHO_SERVICE_NAME", "echo")

    redis = Redis()
    caller = CallerProvider()

    @rpc
    def echo(self, value):
        return value

    @rpc
    def fail(self, message):
        raise NotFound(message, {"resource": "thing"})

    @rpc
    def crash(self):
        raise RuntimeError("internal detail that must not reach a client")

    @rpc
    def unserializable(self):
        return {"set": {1, 2}}  # JSON has no sets

    @rpc
    def context(self):
        return {"data": self.caller.data, "call_id_stack": self.caller.call_id_stack}

    @rpc
    def record(self, key):
        """Proves whether a request ran: sets ``key`` in Redis."""
        self.redis.set(key, "ran", ex=600)
        return key
