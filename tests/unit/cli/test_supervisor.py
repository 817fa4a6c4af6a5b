"""``agenthub up``'s supervisor with stand-in children: restarts with backoff, gives up on one
child alone, logs how each exit happened, and stops what is left on SIGINT."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

from agenthub.supervisor import RestartPolicy, describe_exit

SCRIPT = textwrap.dedent("""
    import sys
    from agenthub.supervisor import Child, RestartPolicy, Supervisor
    crash = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"
    children = [Child("crasher", [sys.executable, "-c", crash]),
                Child("steady", [sys.executable, "-c", "import time; time.sleep(120)"])]
    policy = RestartPolicy(backoff=0.05, backoff_max=0.1, max_restarts=3, stable_after=60)
    sys.exit(Supervisor("127.0.0.1", 9, ready_timeout=600, policy=policy, children=children).run())
""")


def test_backoff_doubles_up_to_its_cap():
    policy = RestartPolicy(backoff=1, backoff_max=5)
    assert [policy.delay(n) for n in range(5)] == [1, 2, 4, 5, 5]


def test_exits_are_described_by_code_or_signal():
    assert describe_exit(3) == "exit code 3"
    assert describe_exit(-11) == "signal SIGSEGV (-11)"


def test_a_crashing_child_is_restarted_then_given_up_alone_and_the_rest_stops_on_sigint():
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "giving up" in line or not line:
                break
        assert process.poll() is None, "the supervisor stopped with the crashing child"
        process.send_signal(signal.SIGINT)
        lines.extend(process.stdout.read().splitlines(keepends=True))
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(lines)
    for n in (1, 2, 3):
        assert f"agenthub: crasher exited (signal SIGSEGV (-11)); restart {n} of 3 in" in output, output
    assert (
        "agenthub: crasher exited (signal SIGSEGV (-11)); giving up on it after 3 restarts in a row, "
        "the other processes keep running"
    ) in output
    assert "steady" not in output
    assert "agenthub: stopped" in output
