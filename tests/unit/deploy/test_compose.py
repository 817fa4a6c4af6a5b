"""compose.yml stays valid, and refuses to start without its secrets."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.support.stack import ROOT

pytestmark = [
    pytest.mark.skipif(
        shutil.which("docker-compose") is None,
        reason="docker-compose is not installed (apt-get install docker-compose)",
    ),
]

SECRETS = {
    "AGENTHUB_JWT_SECRET": "ci-0123456789abcdef0123456789abcdef",
    "POSTGRES_PASSWORD": "ci",
    "RABBITMQ_PASSWORD": "ci",
    "ELASTIC_PASSWORD": "ci",
}


def config(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker-compose", "-f", "compose.yml", "config", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_file_is_valid():
    result = config({**os.environ, **SECRETS})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_compose_refuses_a_missing_secret(missing):
    env = {**os.environ, **SECRETS}
    env.pop(missing)
    result = config(env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_migrations_run_as_a_job_before_auth():
    import yaml

    result = subprocess.run(
        ["docker-compose", "-f", "compose.yml", "config"],
        cwd=ROOT,
        env={**os.environ, **SECRETS},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert services["migrate"]["command"] == ["agenthub", "migrate"]
    assert "profiles" not in services["migrate"]
    assert services["auth"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
