"""`agenthub admin create` and `agenthub migrate`, as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC

import pytest
from sqlalchemy import create_engine, text

from tests.support.postgres import fresh_database
from tests.support.stack import ROOT


def agenthub(*args: str, env: dict, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agenthub", *args],
        input=stdin,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def database_env(request, tmp_path):
    env = dict(
        os.environ,
        AGENTHUB_ENV="development",
        AGENTHUB_DATA_DIR=str(tmp_path),
        PYTHONWARNINGS="ignore::DeprecationWarning",
    )
    env.pop("AGENTHUB_DATABASE_URL", None)
    if request.param == "sqlite":
        yield env, f"sqlite:///{tmp_path}/auth.db"
    else:
        with fresh_database() as url:
            env["AGENTHUB_DATABASE_URL"] = url
            yield env, url


def test_admin_create_with_the_password_on_stdin(database_env):
    env, url = database_env
    created = agenthub(
        "admin", "create", "--username", "Root.Admin", "--new-database", env=env, stdin="a long passphrase\n"
    )
    assert created.returncode == 0, created.stderr
    assert "created admin Root.Admin" in created.stdout
    engine = create_engine(url)
    with engine.connect() as connection:
        role, password_hash = connection.execute(
            text("select role, password_hash from users where username = 'Root.Admin'")
        ).one()
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
    refused = agenthub(
        "admin", "create", "--username", "ops", "--password-file", str(secret), "--new-database", env=env
    )
    assert refused.returncode == 1
    assert "BAD_USER_INPUT: password: must be at least 8 characters" in refused.stderr
    secret.write_text("long enough passphrase\n")
    assert (
        agenthub(
            "admin", "create", "--username", "ops", "--password-file", str(secret), "--new-database", env=env
        ).returncode
        == 0
    )


def test_migrate_reports_the_revision(database_env):
    env, _ = database_env
    result = agenthub("migrate", env=env)
    assert result.returncode == 0, result.stderr
    assert "auth database at revision" in result.stdout


def test_audit_export_writes_a_time_range_as_json_lines(database_env, tmp_path):
    import json
    import uuid
    from datetime import datetime, timedelta

    from services.auth import db
    from services.auth.models import AuditRow

    env, url = database_env
    assert agenthub("migrate", env=env).returncode == 0
    start = datetime(2026, 1, 1, tzinfo=UTC)
    engine = db.make_engine(url, pool_size=1)
    with db.session_factory(engine).begin() as session:
        for day in range(4):
            session.add(
                AuditRow(
                    id=str(uuid.uuid4()),
                    at=start + timedelta(days=day),
                    actor_type="user",
                    action=f"day{day}",
                    outcome="success",
                    detail={"day": str(day)},
                )
            )
    engine.dispose()
    out = tmp_path / "audit.jsonl"
    exported = agenthub(
        "audit", "export", "--since", "2026-01-02", "--until", "2026-01-04T00:00:00+00:00", "-o", str(out), env=env
    )
    assert exported.returncode == 0, exported.stderr
    assert "exported 2 audit events" in exported.stderr
    entries = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["action"] for e in entries] == ["day1", "day2"] and entries[1]["detail"] == {"day": "2"}
    everything = agenthub("audit", "export", env=env)
    assert [json.loads(line)["action"] for line in everything.stdout.splitlines()] == ["day0", "day1", "day2", "day3"]
    bad = agenthub("audit", "export", "--since", "yesterday", env=env)
    assert bad.returncode == 2 and "not an ISO 8601" in bad.stderr


def test_admin_create_refuses_to_invent_a_database_where_the_stack_keeps_none(tmp_path):
    data = tmp_path / "data"
    env = dict(
        os.environ,
        AGENTHUB_ENV="development",
        AGENTHUB_DATA_DIR=str(data),
        PYTHONWARNINGS="ignore::DeprecationWarning",
        PYTHONPATH=str(ROOT),
    )
    env.pop("AGENTHUB_DATABASE_URL", None)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    refused = subprocess.run(
        [sys.executable, "-m", "agenthub", "admin", "create", "--username", "ops"],
        input="a long passphrase\n",
        env=env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2
    assert f"no auth database at {data / 'auth.db'}" in refused.stderr
    assert "--new-database" in refused.stderr
    assert not (data / "auth.db").exists() and not (elsewhere / "var").exists()

    assert agenthub("migrate", env=env).returncode == 0  # what the stack does at start
    created = agenthub("admin", "create", "--username", "ops", env=env, stdin="a long passphrase\n")
    assert created.returncode == 0, created.stderr


def test_agenthub_shell_shows_no_secret_and_no_deprecation_warning(isolation, stack):
    env = isolation.env()
    env.pop("PYTHONWARNINGS", None)
    shell = subprocess.run(
        [sys.executable, "-m", "agenthub", "shell"],
        input="print(n.rpc.auth.health()['status'])\n",
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = shell.stdout + shell.stderr
    assert shell.returncode == 0, output
    assert "UP" in shell.stdout
    assert "guest:guest" not in output and "guest:***@" in output
    assert "Deprecat" not in output and "deprecat" not in output
