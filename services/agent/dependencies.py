"""Dependency providers of the agent service: adapters around plain domain objects."""

from __future__ import annotations

import contextvars
import functools

import redis
from nameko.extensions import DependencyProvider

from services.agent.config import get_agent_settings
from services.agent.runtime import AgentRuntime


class Runtime(DependencyProvider):
    """Injects the process's ``AgentRuntime``; runs are the container's managed threads.

    Managed threads are stopped with the container: ``stop()`` first ends the
    runs in flight with ``RUN_FAILED`` so no run stays RUNNING forever.
    """

    def setup(self) -> None:
        settings = get_agent_settings()
        self.client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=10,
                                           health_check_interval=30)
        self.runtime = AgentRuntime(settings, self.client, self._spawn)

    def start(self) -> None:
        self.runtime.warm_up()

    def _spawn(self, fn, run_id: str):
        # the run outlives the worker: it keeps the worker's trace and request id (its logs, the model span)
        return self.container.spawn_managed_thread(functools.partial(contextvars.copy_context().run, fn),
                                                   identifier=f"agent-run-{run_id}")

    def stop(self) -> None:
        self.runtime.stop()
        self.client.close()

    def get_dependency(self, worker_ctx) -> AgentRuntime:
        return self.runtime
