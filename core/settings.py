"""Settings shared by every deployable, read from ``AGENTHUB_*`` variables.

Each deployable extends ``CommonSettings`` with its own fields, so one typed
object describes everything a process reads from its environment.
"""

from __future__ import annotations

import json
import os
import ssl
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schema.permissions import parse_role_grants

DEVELOPMENT_JWT_SECRET = "agenthub-development-only-secret-do-not-deploy"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def data_base_dir() -> Path:
    """What a relative ``AGENTHUB_DATA_DIR`` is relative to: the project root in a source checkout
    (where ``make up`` keeps ``var/``), else the user's data directory. Never the current directory,
    so every command run from anywhere finds the same databases as ``agenthub up``."""
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        return PROJECT_ROOT
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "agenthub"


class InsecureConfiguration(SystemExit):
    """Raised at start when a secret is missing or default outside development."""


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGENTHUB_", extra="ignore")

    env: Literal["development", "production"] = Field(
        "production",
        description="development turns on GraphiQL, field suggestions and default secrets.",
    )
    amqp_uri: str = "amqp://guest:guest@127.0.0.1:5672/"
    amqp_ca_file: Path | None = Field(
        None,
        description="amqps:// only: the CA certificate(s), PEM, that sign the broker's certificate "
        "(a private CA); unset: the system's CA store.",
    )
    amqp_cert_file: Path | None = Field(
        None,
        description="amqps:// only: this process's client certificate, PEM, for a broker that requires one; "
        "may hold the private key too.",
    )
    amqp_key_file: Path | None = Field(
        None, description="The client certificate's private key, PEM; unset: AGENTHUB_AMQP_CERT_FILE holds it."
    )
    rpc_exchange: str = "nameko-rpc"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = Field("agenthub:", description="Prefix of every Redis key this deployment writes.")
    redis_max_connections: int = Field(200, ge=1, description="Connections in each process's Redis pool.")
    redis_pool_timeout: float = Field(
        5.0, gt=0, description="How long a request waits for a free pooled Redis connection, seconds."
    )
    redis_socket_timeout: float = Field(
        2.0,
        gt=0,
        description="Redis read/write timeout, seconds: how long a request waits on a Redis that "
        "accepts connections but does not answer (never retried).",
    )
    redis_connect_timeout: float = Field(2.0, gt=0, description="Redis connect timeout, seconds.")
    redis_retries: int = Field(
        3,
        ge=0,
        le=20,
        description="Retries (exponential backoff) of a Redis command "
        "whose connection failed (not of one that timed out).",
    )
    redis_health_check_interval: int = Field(
        10, ge=0, description="A pooled Redis connection idle this long is PINGed before use, seconds (0: never)."
    )
    data_dir: Path = Field(Path("var"), description="Absolute, or relative to the project root (see data_base_dir).")
    log_level: str = "INFO"
    instance: str | None = Field(
        None,
        description="This process's name when several run (agenthub up --scale sets gateway-2): "
        "in health replies and the gateway's X-AgentHub-Instance header.",
    )

    metrics_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Serve Prometheus metrics on this port (the next free one if taken); unset: no metrics server.",
    )
    metrics_host: str = Field("127.0.0.1", description="Address of the metrics server (0.0.0.0 in containers).")

    # Tokens: every deployable verifies them; only auth signs them.
    jwt_algorithm: Literal["HS256", "RS256", "EdDSA"] = "HS256"
    jwt_secret: SecretStr | None = Field(None, description="HS256 key, at least 32 bytes.")
    jwt_private_key_file: Path | None = Field(None, description="PEM private key for RS256/EdDSA (auth only).")
    jwt_public_key_file: Path | None = Field(None, description="PEM public key for RS256/EdDSA.")
    jwt_issuer: str = "agenthub"
    jwt_audience: str = "agenthub-api"
    access_token_ttl: int = Field(900, ge=30, description="Access token lifetime, seconds.")
    api_key_cache_seconds: float = Field(
        60.0,
        ge=0,
        description="How long the gateway may reuse a verified API key's grant, seconds (auth caps "
        "the grant by it, the gateway caches it: one setting for both).",
    )
    role_grants: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Permissions added to roles, e.g. {"user": ["query:sql"]}; every process must agree.',
    )

    @field_validator("role_grants")
    @classmethod
    def _known_grants(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        parse_role_grants(json.dumps(value))  # unknown roles or permissions stop the process at start
        return value

    @field_validator("data_dir")
    @classmethod
    def _anchor_data_dir(cls, value: Path) -> Path:
        value = value.expanduser()
        return value if value.is_absolute() else data_base_dir() / value

    @model_validator(mode="after")
    def _tls_needs_amqps(self) -> CommonSettings:
        """TLS files with a plain amqp:// URI would be ignored: the operator meant TLS, so say so at start."""
        if (self.amqp_ca_file or self.amqp_cert_file or self.amqp_key_file) and not self.amqp_tls:
            raise ValueError(
                "AGENTHUB_AMQP_CA_FILE, AGENTHUB_AMQP_CERT_FILE and AGENTHUB_AMQP_KEY_FILE need an "
                "amqps:// AGENTHUB_AMQP_URI"
            )
        if self.amqp_key_file and not self.amqp_cert_file:
            raise ValueError("AGENTHUB_AMQP_KEY_FILE needs AGENTHUB_AMQP_CERT_FILE (the certificate it belongs to)")
        return self

    @property
    def amqp_tls(self) -> bool:
        return self.amqp_uri.startswith("amqps://")

    def amqp_ssl_options(self) -> dict[str, Any] | None:
        """The services' TLS to the broker: Nameko's ``AMQP_SSL`` (py-amqp's options). None: as the URI
        says (amqps:// verifies the broker against the system's CA store)."""
        if not (self.amqp_ca_file or self.amqp_cert_file):
            return None
        options: dict[str, Any] = {"cert_reqs": ssl.CERT_REQUIRED}
        if self.amqp_ca_file:
            options["ca_certs"] = str(self.amqp_ca_file)
        if self.amqp_cert_file:
            options["certfile"] = str(self.amqp_cert_file)
            options["keyfile"] = str(self.amqp_key_file or self.amqp_cert_file)
        return options

    def amqp_ssl_context(self) -> ssl.SSLContext | None:
        """The same TLS for the gateway's asyncio client; None for amqp://."""
        if not self.amqp_tls:
            return None
        context = ssl.create_default_context(cafile=str(self.amqp_ca_file) if self.amqp_ca_file else None)
        if self.amqp_cert_file:
            context.load_cert_chain(self.amqp_cert_file, self.amqp_key_file)
        return context

    @property
    def development(self) -> bool:
        return self.env == "development"

    def insecure_settings(self) -> list[str]:
        """Secrets that are missing, default or weak; subclasses add theirs."""
        problems = []
        if self.jwt_algorithm == "HS256":
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
            if not secret or secret == DEVELOPMENT_JWT_SECRET:
                problems.append("AGENTHUB_JWT_SECRET is missing or the development default")
            elif len(secret.encode()) < 32:
                problems.append("AGENTHUB_JWT_SECRET is shorter than 32 bytes")
        elif not self.jwt_public_key_file:
            problems.append(f"AGENTHUB_JWT_PUBLIC_KEY_FILE is required for {self.jwt_algorithm}")
        return problems

    def jwt_secret_value(self) -> str:
        """The HS256 key: the configured one, or the development default in development only."""
        if self.jwt_secret:
            return self.jwt_secret.get_secret_value()
        if self.development:
            return DEVELOPMENT_JWT_SECRET
        raise InsecureConfiguration("AGENTHUB_JWT_SECRET is not set")

    def check_secure(self) -> None:
        """Stop the process outside development mode when a secret is unsafe."""
        problems = self.insecure_settings()
        if problems and not self.development:
            raise InsecureConfiguration(
                "Refusing to start outside development mode: "
                + "; ".join(problems)
                + ". Set them, or AGENTHUB_ENV=development on a workstation."
            )


class SupervisorSettings(CommonSettings):
    """``agenthub up``'s restart policy for a child that exits unexpectedly."""

    restart_backoff: float = Field(1.0, gt=0, le=60, description="First restart delay, seconds; doubles each time.")
    restart_backoff_max: float = Field(30.0, gt=0, le=600, description="Longest restart delay, seconds.")
    restart_max: int = Field(5, ge=0, le=100, description="Restarts in a row before giving up on that child.")
    restart_stable_after: float = Field(60.0, gt=0, description="A child up this long starts a new row, seconds.")


class RagFileLimit(BaseSettings):
    """The one upload limit two deployables read: the gateway refuses a larger file before sending it,
    the rag service refuses it again (a direct RPC caller gets no free pass)."""

    model_config = SettingsConfigDict(env_prefix="AGENTHUB_", extra="ignore")

    rag_max_file_bytes: int = Field(25 * 1024 * 1024, ge=1, description="Largest accepted file, in bytes.")
