"""No default secrets outside development mode."""

import pytest

from core.settings import DEVELOPMENT_JWT_SECRET, InsecureConfiguration
from gateway.settings import GatewaySettings


def test_production_refuses_a_missing_secret(monkeypatch):
    monkeypatch.delenv("AGENTHUB_JWT_SECRET", raising=False)
    with pytest.raises(InsecureConfiguration, match="AGENTHUB_JWT_SECRET"):
        GatewaySettings(env="production").check_secure()


def test_production_refuses_the_development_secret_and_short_ones():
    with pytest.raises(InsecureConfiguration):
        GatewaySettings(env="production", jwt_secret=DEVELOPMENT_JWT_SECRET).check_secure()
    with pytest.raises(InsecureConfiguration, match="32 bytes"):
        GatewaySettings(env="production", jwt_secret="short").check_secure()


def test_production_accepts_a_strong_secret():
    GatewaySettings(env="production", jwt_secret="s" * 32).check_secure()


def test_production_is_the_default(monkeypatch):
    monkeypatch.delenv("AGENTHUB_ENV", raising=False)
    assert GatewaySettings().env == "production"


def test_development_runs_with_the_default_secret():
    settings = GatewaySettings(env="development")
    settings.check_secure()
    assert settings.jwt_secret_value() == DEVELOPMENT_JWT_SECRET


def test_secrets_do_not_appear_in_the_settings_repr():
    settings = GatewaySettings(env="production", jwt_secret="p" * 40)
    assert "p" * 40 not in repr(settings)


def test_a_relative_data_dir_is_anchored_to_the_project_root_not_the_current_directory(tmp_path, monkeypatch):
    from core.settings import PROJECT_ROOT, CommonSettings

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AGENTHUB_DATA_DIR", raising=False)
    assert CommonSettings().data_dir == PROJECT_ROOT / "var"
    assert CommonSettings(data_dir="other").data_dir == PROJECT_ROOT / "other"
    assert CommonSettings(data_dir=str(tmp_path / "abs")).data_dir == tmp_path / "abs"
