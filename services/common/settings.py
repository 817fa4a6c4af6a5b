"""Typed settings of the services, read once per process from ``AGENTHUB_*``."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from core.ratelimit import LimitSpec
from core.settings import CommonSettings


class ServiceSettings(CommonSettings):
    """Everything a service reads from its environment besides AMQP (config.yaml)."""

    # -- auth -------------------------------------------------------------
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the auth database; default sqlite:///{data_dir}/auth.db. "
        "PostgreSQL: postgresql+pg8000://user:pass@host/db (pure Python, greened).",
    )
    refresh_token_ttl: int = Field(14 * 86400, ge=60, description="Refresh token (and idle session) lifetime, seconds.")
    api_key_token_ttl: int = Field(300, ge=30, description="Lifetime of the access token an API key is exchanged for.")
    api_key_max_days: int = Field(365, ge=1, le=3650, description="Longest lifetime of an API key, days.")
    api_key_max_per_user: int = Field(20, ge=1, description="Most active (unrevoked, unexpired) API keys per user.")
    login_user_rate_limit: LimitSpec = Field(
        "5/minute", description="Failed logins per username and client address; then growing delays."
    )
    login_username_rate_limit: LimitSpec = Field(
        "100/hour", description="Failed logins per username from all addresses together."
    )
    login_ip_rate_limit: LimitSpec = Field("20/minute", description="Failed logins allowed per client IP.")
    register_rate_limit: LimitSpec = Field("5/hour", description="Registrations allowed per client IP.")
    password_time_cost: int = Field(3, ge=1, description="Argon2id iterations.")
    password_memory_cost: int = Field(65536, ge=8, description="Argon2id memory, KiB.")
    password_parallelism: int = Field(4, ge=1, description="Argon2id lanes.")
    audit_retention_days: int = Field(
        365, ge=0, description="Audit rows older than this are deleted (0: kept forever)."
    )
    audit_purge_interval: int = Field(
        3600, ge=10, description="Seconds between two retention passes of each auth instance."
    )

    def auth_database_url(self) -> str:
        """The configured database URL, or the SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'auth.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> ServiceSettings:
    settings = ServiceSettings()
    settings.check_secure()
    return settings
