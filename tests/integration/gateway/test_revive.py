"""The suite's shared services: one that crashes is started again before the next test."""

from __future__ import annotations

from tests.support.stack import ServiceProcess, consumer_count, revive_crashed


def test_a_crashed_test_service_is_revived_and_a_stopped_one_is_not(isolation):
    crashed = ServiceProcess(
        isolation, "tests.support.echo_service", "revived", ECHO_SERVICE_NAME="revived"
    ).wait_until_consuming()
    stopped = ServiceProcess(
        isolation, "tests.support.echo_service", "left_stopped", ECHO_SERVICE_NAME="left_stopped"
    ).wait_until_consuming()
    try:
        old = crashed.process.pid
        crashed.process.kill()
        crashed.process.wait()
        stopped.stop()
        revived = revive_crashed()
        assert [how for how in revived if how.startswith("revived ")] == [
            f"revived had exited with -9 (log: {crashed.log_path})"
        ]
        assert not [how for how in revived if how.startswith("left_stopped")]
        assert crashed.process.poll() is None and crashed.process.pid != old
        assert consumer_count(isolation, "revived") == 1
        assert stopped.process.poll() is not None
    finally:
        crashed.stop()
