"""Log lines: readable in development, JSON in production, no traceback for a client's mistake."""

from __future__ import annotations

import json
import logging
import sys

from core import logs


def record(message="rpc", level=logging.INFO, name="agenthub.rpc", **fields):
    made = logging.LogRecord(name, level, __file__, 1, message, (), None)
    made.fields = fields
    return made


def test_console_line_is_time_process_level_operation_fields_and_request_id():
    line = logs.ConsoleFormatter(color=False, process="rag").format(
        record(request_id="abc123", user_id="u1", operation="rag.ask", duration_ms=4.2, outcome="NOT_FOUND")
    )
    assert "\x1b[" not in line and "\n" not in line
    _time, rest = line.split(" ", 1)
    assert rest.split() == ["rag", "INFO", "rag.ask", "user_id=u1", "duration_ms=4.2", "outcome=NOT_FOUND", "[abc123]"]


def test_console_colors_only_when_asked():
    assert "\x1b[" in logs.ConsoleFormatter(color=True, process="gateway").format(record("hello"))


def test_format_follows_the_setting_then_the_environment(monkeypatch):
    monkeypatch.delenv("AGENTHUB_LOG_FORMAT", raising=False)
    monkeypatch.setenv("AGENTHUB_ENV", "development")
    assert isinstance(logs.formatter(), logs.ConsoleFormatter)
    monkeypatch.setenv("AGENTHUB_ENV", "production")
    line = logs.formatter().format(record(request_id="r1", operation="auth.me"))
    assert json.loads(line)["operation"] == "auth.me"
    monkeypatch.setenv("AGENTHUB_LOG_FORMAT", "console")
    assert isinstance(logs.formatter(), logs.ConsoleFormatter)


def test_nameko_traceback_for_an_expected_error_is_dropped():
    quiet = logs.QuietExpected()
    expected = record("(expected) error handling worker %s: %s", logging.WARNING, "nameko.containers")
    assert not quiet.filter(expected)
    assert quiet.filter(record("error handling worker %s: %s", logging.ERROR, "nameko.containers"))
    assert quiet.filter(record("rpc"))


def test_strawberry_traceback_for_a_subscriber_that_went_away_is_dropped():
    from strawberry.http.exceptions import WebSocketDisconnected

    quiet = logs.QuietExpected()

    def task_error(error: BaseException) -> logging.LogRecord:
        try:
            raise error
        except BaseException:
            entry = record("Exception in worker task", logging.ERROR, "strawberry.ws.task")
            entry.exc_info = sys.exc_info()
        return entry

    assert not quiet.filter(task_error(WebSocketDisconnected()))
    assert quiet.filter(task_error(RuntimeError("a real fault in a subscription")))
