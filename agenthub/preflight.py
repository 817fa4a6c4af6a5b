"""Fail fast, with a useful message, when RabbitMQ or Redis is not reachable."""

from __future__ import annotations

from dataclasses import dataclass

import kombu

from core.logs import redact_url
from core.redis_client import sync_client
from core.settings import CommonSettings


@dataclass(frozen=True)
class Unreachable:
    what: str
    url: str
    error: str
    how_to_start: str

    def __str__(self) -> str:
        return (
            f"Cannot reach {self.what} at {self.url} ({self.error}).\n"
            f"  Start it with: {self.how_to_start}\n"
            f"  or point AgentHub elsewhere with the variable named in docs/configuration.md."
        )


def check_broker(settings: CommonSettings) -> Unreachable | None:
    try:
        with kombu.Connection(settings.amqp_uri, ssl=settings.amqp_ssl_options(), connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:  # any failure means unreachable; the message says which
        return Unreachable(
            "RabbitMQ",
            redact_url(settings.amqp_uri),
            str(exc) or type(exc).__name__,
            "rabbitmq-server -detached   (or: docker compose up -d rabbitmq)",
        )
    return None


def check_redis(settings: CommonSettings) -> Unreachable | None:
    client = sync_client(settings, max_connections=1)
    try:
        client.ping()
    except Exception as exc:  # any failure means unreachable; the message says which
        return Unreachable(
            "Redis",
            redact_url(settings.redis_url),
            str(exc) or type(exc).__name__,
            "redis-server --daemonize yes   (or: docker compose up -d redis)",
        )
    finally:
        client.close()
    return None


def preflight(settings: CommonSettings) -> list[Unreachable]:
    return [problem for problem in (check_broker(settings), check_redis(settings)) if problem]
