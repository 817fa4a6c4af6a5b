"""Logs shared by the gateway and the services: readable lines in development, JSON in production.

``AGENTHUB_LOG_FORMAT`` chooses (``console`` or ``json``); unset, development writes console lines
(colored when stderr is a terminal) and production JSON lines. Both carry the same fields.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

from rich.style import Style

# Nameko logs a client mistake (an exception in the entrypoint's ``expected_exceptions``) at WARNING
# with its traceback; our RequestLog already wrote one INFO line for it with the code.
_EXPECTED_PREFIX = "(expected) error handling worker"


def _timestamp(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line; ``extra={"fields": {...}}`` adds keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}) or {})
        for key in ("request_id", "trace_id"):  # from the context (core.tracing), unless given
            if entry.get(key) is None and getattr(record, key, None):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


_LEVEL_STYLES = {
    "DEBUG": Style(dim=True),
    "INFO": Style(color="green"),
    "WARNING": Style(color="yellow", bold=True),
    "ERROR": Style(color="red", bold=True),
    "CRITICAL": Style(color="red", bold=True, reverse=True),
}
_DIM = Style(dim=True)


class ConsoleFormatter(logging.Formatter):
    """One readable line: ``time process LEVEL message key=value … [request id]``, ANSI colors
    (rendered by rich) only when ``color`` is true."""

    def __init__(self, color: bool | None = None, process: str | None = None) -> None:
        super().__init__()
        self.color = sys.stderr.isatty() if color is None else color
        self.process = process or process_name()

    def _paint(self, text: str, style: Style) -> str:
        return style.render(text) if self.color else text

    def format(self, record: logging.LogRecord) -> str:
        fields = dict(getattr(record, "fields", {}) or {})
        request_id = fields.pop("request_id", None) or getattr(record, "request_id", None)  # context (tracing)
        trace_id = fields.pop("trace_id", None) or getattr(record, "trace_id", None)
        message = record.getMessage()
        if message in ("request", "rpc") and ("operation" in fields or "path" in fields):
            operation = fields.pop("operation", None)
            message = f"{operation} {fields.pop('path', '')}".strip() if operation else fields.pop("path")
            fields.pop("kind", None)
        parts = [
            self._paint(time.strftime("%H:%M:%S", time.localtime(record.created)) + f".{int(record.msecs):03d}", _DIM),
            f"{self.process:<7}",
            self._paint(f"{record.levelname:<7}", _LEVEL_STYLES.get(record.levelname, Style())),
            message,
        ]
        extras = " ".join(f"{key}={value}" for key, value in fields.items() if value is not None)
        if extras:
            parts.append(self._paint(extras, _DIM))
        ids = " ".join(
            value
            for value in (request_id if request_id != "-" else None, f"trace={trace_id}" if trace_id else None)
            if value
        )
        if ids:
            parts.append(self._paint(f"[{ids}]", _DIM))
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def process_name() -> str:
    """``gateway``, ``auth``, ``agent``, ``rag`` or the program's name, from the command line."""
    for arg in sys.argv[1:]:
        if arg.startswith("services.") and arg.count(".") >= 2:
            return arg.split(".")[1]
        if arg in ("gateway", "up", "ingest", "admin", "migrate", "shell"):
            return "gateway" if arg == "gateway" else "agenthub"
    return os.path.basename(sys.argv[0]) or "python"


def log_format() -> str:
    """``console`` or ``json``: ``AGENTHUB_LOG_FORMAT``, else by ``AGENTHUB_ENV``."""
    chosen = os.environ.get("AGENTHUB_LOG_FORMAT", "").strip().lower()
    if chosen in ("console", "json"):
        return chosen
    return "console" if os.environ.get("AGENTHUB_ENV", "production") == "development" else "json"


def formatter() -> logging.Formatter:
    """The formatter for this process (a factory the Nameko ``LOGGING`` config names)."""
    return ConsoleFormatter() if log_format() == "console" else JsonFormatter()


class QuietExpected(logging.Filter):
    """Drops tracebacks of what is expected: Nameko's for a client error (RequestLog logged it in one
    line), and Strawberry's for a subscriber that disconnected while an event was being sent to it
    (a closed browser tab, not a fault; matched by name so ``core`` needs no Strawberry import)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "nameko.containers" and str(record.msg).startswith(_EXPECTED_PREFIX):
            return False
        error = record.exc_info[1] if record.exc_info else None
        return not (record.name == "strawberry.ws.task" and type(error).__name__ == "WebSocketDisconnected")


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter())
    handler.addFilter(QuietExpected())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiormq", "aio_pika", "kombu", "amqp", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def redact_url(url: str) -> str:
    """The URL without its password, for logs and messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
