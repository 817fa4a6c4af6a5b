"""A gateway app with default settings on the run's isolation, for the tests here."""

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from tests.support.gateway import gateway_settings


@pytest.fixture(scope="module")
def settings(isolation):
    return gateway_settings(isolation)


@pytest.fixture(scope="module")
def gateway(settings, stack):
    with TestClient(create_app(settings)) as client:
        yield client
