"""`agenthub admin create` and `agenthub migrate`, as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from tests.support.postgres import fresh_database
from tests.support.stack import ROOT

pytestmark = pytest.mark.e2e


def agenthub(*args: str, env: dict, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agenthub", *args], input=stdin, env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_env(request, tmp_path):
    env = dict(os.environ, AGENTHUB_ENV="development", AGENTHUB_DATA_DIR=str(tmp_path),
               PYTHONWARNINGS="ignore::DeprecationWarning")
    env.pop("AGENTHUB_DATABASE_URL", None)
    if request.param == "sqlite":
        yield env, f"sqlite:///{tmp_path}/auth.db"
    else:
        with fresh_database() as url:
            env["AGENTHUB_DATABASE_URL"] = url
            yield env, url


def test_admin_create_with_the_password_on_stdin(database_env):
    env, url = database_env
    created = agenthub("admin", "create", "--username", "Root.Admin", env=env, stdin="a long passphrase\n")
    assert created.returncode == 0, created.stderr
    assert "created admin Root.Admin" in created.stdout
    engine = create_engine(url)
    with engine.connect() as connection:
        role, password_hash = connection.execute(
            text("select role, password_hash from users where username = 'Root.Admin'")).one()
    engine.dispose()
    assert role == "admin"
    assert password_hash.startswith("$argon2id$")
    assert "a long passphrase" not in created.stdout + created.stderr

    again = agenthub("admin", "create", "--username", "root.admin", env=env, stdin="another passphrase\n")
    assert again.returncode == 1
    assert "CONFLICT" in again.stderr


def test_admin_create_from_a_password_file_and_validation(database_env, tmp_path):
    env, _ = database_env
    secret = tmp_path / "password"
    secret.write_text("short\n")
    refused = agenthub("admin", "create", "--username", "ops", "--password-file", str(secret), env=env)
    assert refused.returncode == 1
    assert "BAD_USER_INPUT: password: must be at least 8 characters" in refused.stderr
    secret.write_text("long enough passphrase\n")
    assert agenthub("admin", "create", "--username", "ops", "--password-file", str(secret), env=env).returncode == 0


def test_migrate_reports_the_revision(database_env):
    env, _ = database_env
    result = agenthub("migrate", env=env)
    assert result.returncode == 0, result.stderr
    assert "auth database at revision" in result.stdout
