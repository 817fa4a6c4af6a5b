"""A service told to stop twice stops once, promptly (``stop_once_on_sigterm``)."""

from __future__ import annotations

import os
import signal
import time

from tests.support.servers import wait_until
from tests.support.stack import Isolation, ServiceProcess


def test_a_second_sigterm_while_a_service_stops_does_not_hang_it(tmp_path):
    # Before: Nameko stopped the extensions a second time, its timer raised AssertionError and the
    # process never exited (still running 25 s later, where one SIGTERM takes under a second).
    isolation = Isolation(data_dir=tmp_path).create()
    process = ServiceProcess(isolation, "services.auth.service", "auth")
    try:
        process.wait_until_consuming()
        # every extension started (a stop during the start is not this test's)
        wait_until(lambda: b"started auth" in process.log_path.read_bytes(), 60, "auth started", interval=0.05)
        os.kill(process.process.pid, signal.SIGTERM)
        time.sleep(0.2)  # the first stop is under way
        os.kill(process.process.pid, signal.SIGTERM)
        assert process.process.wait(timeout=20) == 0
        log = process.log_path.read_text(errors="replace")
        assert "Traceback" not in log, log[-3000:]
    finally:
        process.stop()
        isolation.destroy()
