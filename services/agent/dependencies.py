"""Dependency providers of the agent service: adapters around plain domain objects."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable

from eventlet.greenthread import GreenThread
from nameko.extensions import DependencyProvider

from services.agent.config import get_agent_settings
from services.agent.db import migrations
from services.agent.runtime import AgentRuntime
from services.common.db import make_engine, session_factory
from services.common.dependencies import RedisPool
from services.common.green import interrupt


class RunThread:
    """A run's managed green thread; cancel and stop raise in it through ``interrupt`` (why: there)."""

    def __init__(self, thread: GreenThread) -> None:
        self.thread = thread

    def kill(self, error: BaseException, when: Callable[[], bool] | None = None) -> None:
        interrupt(self.thread, error, when)

    def wait(self) -> None:
        self.thread.wait()


class Runtime(DependencyProvider):
    """Injects the process's ``AgentRuntime``; runs are the container's managed threads.

    ``setup()`` migrates the agent database first (conversations and run records
    live there). Managed threads are stopped with the container: ``stop()`` first
    ends the runs in flight with ``RUN_FAILED`` so no run stays RUNNING forever.
    """

    pool = RedisPool()

    def setup(self) -> None:
        settings = get_agent_settings()
        url = settings.agent_database()
        migrations.migrate(url)
        max_workers = int(self.container.config.get("max_workers", 10) or 10)
        self.engine = make_engine(url, pool_size=max_workers)
        self.runtime = AgentRuntime(settings, self.pool.client(), session_factory(self.engine), self._spawn)

    def start(self) -> None:
        self.runtime.warm_up()

    def _spawn(self, fn, run_id: str) -> RunThread:
        # the run outlives the worker: it keeps the worker's trace and request id (its logs, the model span)
        return RunThread(
            self.container.spawn_managed_thread(
                functools.partial(contextvars.copy_context().run, fn), identifier=f"agent-run-{run_id}"
            )
        )

    def stop(self) -> None:
        self.runtime.stop()
        self.engine.dispose()

    def get_dependency(self, worker_ctx) -> AgentRuntime:
        return self.runtime
