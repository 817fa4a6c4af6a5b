"""Settings shared by every deployable, read from ``AGENTHUB_*`` variables.

Each deployable extends ``CommonSettings`` with its own fields, so one typed
object describes everything a process reads from its environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class InsecureConfiguration(SystemExit):
    """Raised at start when a secret is missing or default outside development."""


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGENTHUB_", extra="ignore")

    env: Literal["development", "production"] = Field(
        "production",
        description="development turns on GraphiQL, field suggestions and default secrets.",
    )
    amqp_uri: str = "amqp://guest:guest@127.0.0.1:5672/"
    rpc_exchange: str = "nameko-rpc"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = Field("agenthub:", description="Prefix of every Redis key this deployment writes.")
    data_dir: Path = Path("var")
    log_level: str = "INFO"

    @property
    def development(self) -> bool:
        return self.env == "development"

    def insecure_settings(self) -> list[str]:
        """Names of secrets that are missing or default; subclasses add theirs."""
        return []

    def check_secure(self) -> None:
        """Stop the process outside development mode when a secret is unsafe."""
        problems = self.insecure_settings()
        if problems and not self.development:
            raise InsecureConfiguration(
                "Refusing to start outside development mode: "
                + "; ".join(problems)
                + ". Set them, or AGENTHUB_ENV=development on a workstation."
            )
