"""Fixtures shared by every test: one isolated vhost and Redis prefix per run,
and the three services started once per run on them; and the level marker of each
test, from its folder (tests/unit, tests/integration, tests/e2e)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from tests.support.stack import Isolation, ServiceProcess, revive_crashed, stop_all, terminate_running

warnings.filterwarnings("ignore", category=DeprecationWarning, module="eventlet")

TESTS = Path(__file__).resolve().parent
LEVELS = ("unit", "integration", "e2e")

SERVICES = {
    "auth": "services.auth.service",
    "agent": "services.agent.service",
    "rag": "services.rag.service",
}


@pytest.fixture(scope="session")
def isolation(tmp_path_factory) -> Isolation:
    isolation = Isolation(data_dir=tmp_path_factory.mktemp("agenthub-data")).create()
    yield isolation
    isolation.destroy()


@pytest.fixture(scope="session")
def stack(isolation):
    """The three services, running as real processes on the run's vhost."""
    processes = [ServiceProcess(isolation, module, name) for name, module in SERVICES.items()]
    try:
        for process in processes:
            process.wait_until_consuming()
        yield processes
    finally:
        stop_all(processes)


@pytest.fixture(scope="session")
def echo_service(isolation):
    process = ServiceProcess(isolation, "tests.support.echo_service", "echo").wait_until_consuming()
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def _revive_crashed_services():
    """A service that crashed during an earlier test is started again first, and reported."""
    for how in revive_crashed():
        warnings.warn(f"restarted a crashed test service: {how}", pytest.PytestWarning, stacklevel=1)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After the last test the session's fixtures are torn down one after another, each stopping its
    services and waiting for them (about a second a service): every service still running is told to stop
    first, so they all wind down at once."""
    if nextitem is None:
        terminate_running()
    yield


@pytest.hookimpl(tryfirst=True)  # before -m selects by marker
def pytest_collection_modifyitems(items):
    """The level marker follows the folder: a test under tests/unit is ``unit``, and so on.
    Files carry no level marker of their own, so a test changes level by moving."""
    for item in items:
        try:
            level = Path(item.path).resolve().relative_to(TESTS).parts[0]
        except ValueError:  # a test outside tests/
            continue
        if level in LEVELS:
            item.add_marker(getattr(pytest.mark, level))
