"""How many processes ``agenthub up`` runs of each deployable: ``--scale auth=2,gateway=2``.

Service instances compete on their RabbitMQ queue; gateway instances share one port
(``SO_REUSEPORT``: the kernel spreads new connections over them).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEPLOYABLES = ("auth", "agent", "rag", "gateway")
MAX_INSTANCES = 16


class ScaleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGENTHUB_", extra="ignore")

    scale: str = Field("", description="agenthub up's processes per deployable when --scale is not given.")


class ScaleError(ValueError):
    """A scale that cannot run; the message says why and what to do."""


def parse_scale(text: str | None) -> dict[str, int]:
    """``"auth=2, gateway=2"`` → one count per deployable, 1 where not named."""
    counts = dict.fromkeys(DEPLOYABLES, 1)
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in DEPLOYABLES:
            raise ScaleError(f"scale item {item!r}: expected NAME=COUNT with NAME one of {', '.join(DEPLOYABLES)}")
        try:
            count = int(value)
        except ValueError:
            raise ScaleError(f"scale item {item!r}: COUNT must be a whole number") from None
        if not 1 <= count <= MAX_INSTANCES:
            raise ScaleError(f"scale item {item!r}: COUNT must be between 1 and {MAX_INSTANCES}")
        counts[name] = count
    return counts


def check_scale(counts: dict[str, int], document_store: str) -> None:
    """Refuse what the configured stores cannot do with several processes."""
    if counts["rag"] > 1 and document_store == "embedded":
        raise ScaleError(
            f"rag={counts['rag']}: the embedded document store lives in one process's files and "
            "cannot be shared; run one rag instance, or set AGENTHUB_DOCUMENT_STORE=elasticsearch "
            "and AGENTHUB_ELASTICSEARCH_URL to scale rag on Elasticsearch"
        )


def resolve_scale(option: str | None) -> dict[str, int]:
    """``--scale``, else ``AGENTHUB_SCALE``; checked against the configured document store."""
    from services.rag.settings import RagSettings

    counts = parse_scale(option if option is not None else ScaleSettings().scale)
    check_scale(counts, RagSettings().document_store)
    return counts


def shared_socket(host: str, port: int):
    """A listening socket other processes may bind too (``SO_REUSEPORT``): the kernel
    spreads incoming connections over every process listening on it."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock
