"""No default secrets outside development mode."""

import ssl

import pytest
from pydantic import ValidationError

from core.settings import DEVELOPMENT_JWT_SECRET, CommonSettings, InsecureConfiguration
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


# -- TLS to the broker ----------------------------------------------------------------------------


def test_tls_files_with_a_plain_amqp_uri_stop_the_process_at_start(tmp_path):
    with pytest.raises(ValidationError, match="amqps://"):
        CommonSettings(amqp_uri="amqp://guest:guest@broker/", amqp_ca_file=tmp_path / "ca.pem")
    with pytest.raises(ValidationError, match="AGENTHUB_AMQP_CERT_FILE"):
        CommonSettings(amqp_uri="amqps://guest:guest@broker/", amqp_key_file=tmp_path / "client.key")


def test_the_services_and_the_gateway_get_the_same_tls_from_the_same_variables(tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(tmp_path / "ca.pem")
    leaf = ca.issue_cert("agenthub")
    leaf.cert_chain_pems[0].write_to_path(tmp_path / "client.pem")
    leaf.private_key_pem.write_to_path(tmp_path / "client.key")
    settings = CommonSettings(
        amqp_uri="amqps://guest:guest@broker/",
        amqp_ca_file=tmp_path / "ca.pem",
        amqp_cert_file=tmp_path / "client.pem",
        amqp_key_file=tmp_path / "client.key",
    )
    assert settings.amqp_ssl_options() == {
        "cert_reqs": ssl.CERT_REQUIRED,
        "ca_certs": str(tmp_path / "ca.pem"),
        "certfile": str(tmp_path / "client.pem"),
        "keyfile": str(tmp_path / "client.key"),
    }
    context = settings.amqp_ssl_context()
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert len(context.get_ca_certs()) == 1  # the private CA alone, not the system's store


def test_amqps_without_files_verifies_against_the_system_store_and_amqp_has_no_tls():
    assert CommonSettings(amqp_uri="amqps://guest:guest@broker/").amqp_ssl_options() is None  # Nameko: the URI's
    context = CommonSettings(amqp_uri="amqps://guest:guest@broker/").amqp_ssl_context()
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert CommonSettings(amqp_uri="amqp://guest:guest@broker/").amqp_ssl_context() is None
