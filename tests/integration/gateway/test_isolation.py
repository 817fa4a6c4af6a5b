"""The suite's isolations (tests/support/stack.py): whoever made the data directory removes it."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support import stack
from tests.support.stack import Isolation, ServiceProcess


def test_an_isolation_removes_the_data_directory_it_made_and_leaves_one_it_was_given(tmp_path):
    """The benchmarks give none: theirs went with ``destroy`` (they stayed in /tmp before). Tests give
    pytest's ``tmp_path``, which pytest keeps for the last runs so a failed test's logs can be read."""
    made = Isolation(data_prefix="agenthub-test-isolation-").create()
    given = Isolation(data_dir=tmp_path / "given").create()
    try:
        assert made.owns_data_dir and not given.owns_data_dir
        assert made.data_dir.parent == Path(tempfile.gettempdir())
        assert made.data_dir.name.startswith("agenthub-test-isolation-") and made.data_dir.is_dir()
        for isolation in (made, given):  # what a service leaves there: its log, its data
            service = ServiceProcess(isolation, "tests.support.echo_service", "echo").wait_until_consuming()
            service.stop()
            (isolation.data_dir / "rag").mkdir()
            (isolation.data_dir / "rag" / "catalog.sqlite3").write_bytes(b"data")
    finally:
        made.destroy()
        given.destroy()
    assert not made.data_dir.exists()
    assert (given.data_dir / "rag" / "catalog.sqlite3").read_bytes() == b"data"
    assert [p.name for p in given.data_dir.glob("echo-*.log")] == [service.log_path.name]


def test_an_isolation_that_could_not_be_created_makes_no_directory(monkeypatch):
    """``create`` makes the directory only once the vhost exists, so a failed create leaves nothing."""

    def refused(*args: str, node: str | None = None) -> None:
        raise subprocess.CalledProcessError(69, ["rabbitmqctl", *args])  # as for a node that is down

    monkeypatch.setattr(stack, "_rabbitmqctl", refused)
    before = set(Path(tempfile.gettempdir()).glob("agenthub-test-nocreate-*"))
    isolation = Isolation(data_prefix="agenthub-test-nocreate-")
    with pytest.raises(subprocess.CalledProcessError):
        isolation.create()
    assert isolation.data_dir is None and not isolation.owns_data_dir
    assert set(Path(tempfile.gettempdir()).glob("agenthub-test-nocreate-*")) == before
