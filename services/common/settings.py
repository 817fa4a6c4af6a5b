"""Typed settings of the services, read once per process from ``AGENTHUB_*``."""

from __future__ import annotations

from functools import lru_cache

from agenthub.settings import CommonSettings


class ServiceSettings(CommonSettings):
    """Everything a service reads from its environment besides AMQP (config.yaml)."""


@lru_cache(maxsize=1)
def get_settings() -> ServiceSettings:
    settings = ServiceSettings()
    settings.check_secure()
    return settings
