"""Plain pieces of the auth service: no servers."""

from __future__ import annotations

import pytest

from core.cursor import decode_cursor, encode_cursor
from core.offload import offload
from schema.auth import RegisterInput
from schema.errors import BadUserInput
from schema.validation import parse
from services.auth.audit import redact
from services.auth.db import normalize_url
from services.auth.passwords import Passwords
from services.common.settings import ServiceSettings


def fields_of(data) -> dict:
    with pytest.raises(BadUserInput) as raised:
        parse(RegisterInput, data)
    return raised.value.details["fields"]


def test_register_input_errors_name_each_field():
    assert set(fields_of({"username": "ab", "password": "short", "email": "nope"})) == {"username", "password", "email"}
    assert fields_of({"username": "alice", "password": "xxALICExx1"}) == {"password": "must not contain the username"}
    assert "username" in fields_of({"username": "a" * 51, "password": "long enough"})
    assert "username" in fields_of({"username": "bad name!", "password": "long enough"})
    assert "password" in fields_of({"username": "alice", "password": "p" * 129})
    assert "role" in fields_of({"username": "alice", "password": "long enough", "role": "admin"})
    assert parse(RegisterInput, {"username": "a.b-c_d", "password": "  spaces kept  "}).password == "  spaces kept  "


def test_cursor_round_trip_and_garbage():
    cursor = encode_cursor("alice", "id-1")
    assert decode_cursor(cursor, 2) == ["alice", "id-1"]
    for garbage in ["", "!!!", encode_cursor("only-one"), "eyJhIjoxfQ"]:
        with pytest.raises(BadUserInput):
            decode_cursor(garbage, 2)


def test_redaction_of_secret_looking_details():
    assert redact(
        {
            "password": "x",
            "refresh_token": "y",
            "resource": "doc",
            "tokens": "12",
            "key": "k",
            "clientSecret": "s",
            "api_key_id": "id",
        }
    ) == {
        "password": "[redacted]",
        "refresh_token": "[redacted]",
        "resource": "doc",
        "tokens": "12",
        "key": "[redacted]",
        "clientSecret": "[redacted]",
        "api_key_id": "id",
    }


def test_passwords_verify_and_unknown_users_never_match():
    passwords = Passwords(time_cost=1, memory_cost=1024, parallelism=1)
    stored = passwords.hash("correct horse")
    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, "correct horse")
    assert not passwords.verify(stored, "wrong horse")
    assert not passwords.verify(None, "correct horse")
    assert not passwords.verify("not a hash", "correct horse")
    assert not passwords.needs_rehash(stored)
    assert Passwords(time_cost=2, memory_cost=1024, parallelism=1).needs_rehash(stored)


def test_offload_is_a_plain_call_without_eventlet():
    assert offload(lambda a, b: a + b, 2, 3) == 5


def test_database_url_defaults_to_sqlite_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("AGENTHUB_DATABASE_URL", raising=False)
    settings = ServiceSettings(env="development", data_dir=tmp_path)
    assert settings.auth_database_url() == f"sqlite:///{tmp_path.resolve() / 'auth.db'}"
    monkeypatch.setenv("AGENTHUB_DATABASE_URL", "postgresql://u@h/db")
    assert ServiceSettings(env="development").auth_database_url() == "postgresql://u@h/db"
    assert normalize_url("postgresql://u:p@h/db") == "postgresql+pg8000://u:p@h/db"


def test_rate_limit_settings_are_checked():
    with pytest.raises(ValueError):
        ServiceSettings(env="development", login_user_rate_limit="lots")
