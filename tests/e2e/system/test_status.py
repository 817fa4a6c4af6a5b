"""``agenthub status`` as an operator runs it: against the running stack, against a
vhost where requests wait for a service nobody runs, and with no broker at all."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import kombu

from agenthub.status import probe
from core import __version__
from tests.support.servers import wait_until
from tests.support.stack import ROOT, Isolation, ServiceProcess, consumer_count, stop_all


def status(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agenthub", "status", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_status_of_the_running_stack(isolation, stack):
    shown = status(isolation.env(), "--json")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    report = json.loads(shown.stdout)
    assert report["healthy"] and report["broker"]["reachable"] and "guest:***@" in report["broker"]["url"]
    services = {s["name"]: s for s in report["services"]}
    assert set(services) == {"auth", "agent", "rag"}
    for service in services.values():
        assert service["consumers"] >= 1 and service["queued"] >= 0
        instance = service["instances"][0]
        assert instance["status"] == "UP" and instance["version"] and instance["instance"]
        assert instance["in_flight"] == 0 and instance["dependencies"]
    assert report["queues"]["agenthub.rag.ingestion"]["consumers"] >= 1

    table = status(isolation.env())
    assert table.returncode == 0
    for word in ("auth", "agent", "rag", "UP", "redis", "agenthub.rag.ingestion"):
        assert word in table.stdout, table.stdout


def probed(isolation: Isolation) -> list[str]:
    """The auth instances that answer the fanout probe within 2 s."""
    return [r["instance"] for r in probe(isolation.amqp_uri, {"auth": 2}, timeout=2).get("auth", [])]


def auth_instances(env: dict) -> tuple[int, list[str]]:
    shown = status(env, "--json")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    auth = next(s for s in json.loads(shown.stdout)["services"] if s["name"] == "auth")
    return auth["consumers"], [i["instance"] for i in auth["instances"]]


def test_status_finds_every_instance_every_time(isolation, stack):
    """Two auth instances behind one RPC queue: each run shows both (the fanout probe reaches each
    instance once), and a killed instance is gone from the next run (its queue went with it)."""
    extra = ServiceProcess(isolation, "services.auth.service", "auth", AGENTHUB_INSTANCE="auth-extra")
    try:
        wait_until(lambda: consumer_count(isolation, "auth") == 2, 120, "the second auth instance consuming")
        wait_until(lambda: "auth-extra" in probed(isolation), 30, "the second auth instance hearing the probe")
        replies = probe(isolation.amqp_uri, {"auth": 2}, timeout=5)["auth"]  # one request, one reply each
        assert sorted(r["instance"] for r in replies).count("auth-extra") == 1 and len(replies) == 2, replies
        runs = []
        for _ in range(5):
            started = time.monotonic()
            consumers, names = auth_instances(isolation.env())
            runs.append(time.monotonic() - started)
            assert consumers == 2 and len(set(names)) == 2 and "auth-extra" in names, names
        print(f"5 runs of agenthub status, both auth instances each time: {min(runs):.2f}-{max(runs):.2f} s")
    finally:
        extra.stopped = True  # not revived by the suite: killed on purpose
        extra.process.kill()
        extra.process.wait(timeout=15)

    def one_left() -> bool:
        consumers, names = auth_instances(isolation.env())
        return consumers == 1 and len(names) == 1 and "auth-extra" not in names

    wait_until(one_left, 60, "the killed instance gone from status")


def test_status_shows_every_consumer_during_a_rolling_upgrade(tmp_path):
    """An auth instance of the release before the status probe answers ``health`` over its RPC queue
    only: status lists it with the version it gave, marked RPC only, beside today's instance. A
    consumer that answers nothing at all is listed too, as NO_ANSWER, and makes status exit 1."""
    isolation = Isolation(data_dir=tmp_path).create()
    processes = [
        ServiceProcess(isolation, "services.auth.service", "auth", AGENTHUB_INSTANCE="auth-new"),
        ServiceProcess(
            isolation,
            "tests.support.previous_release",
            "auth",
            AGENTHUB_INSTANCE="auth-old",
            PREVIOUS_RELEASE_VERSION="0.0.9",
        ),
    ]
    try:
        wait_until(lambda: consumer_count(isolation, "auth") == 2, 120, "both auth instances consuming")
        # an instance consumes its RPC queue a moment before its probe queue is bound
        wait_until(lambda: "auth-new" in probed(isolation), 30, "today's instance hearing the probe")
        # the gap: the older instance does not hear the probe, so the probe alone finds one of two
        assert probed(isolation) == ["auth-new"]

        shown = status(isolation.env(), "--json", "--timeout", "2")
        auth = next(s for s in json.loads(shown.stdout)["services"] if s["name"] == "auth")
        assert auth["consumers"] == 2 and auth["error"] is None, auth
        by_name = {i["instance"]: i for i in auth["instances"]}
        assert set(by_name) == {"auth-new", "auth-old"}, auth
        assert by_name["auth-new"]["answered"] == "probe" and by_name["auth-new"]["version"] == __version__
        assert by_name["auth-old"]["answered"] == "rpc" and by_name["auth-old"]["version"] == "0.0.9"
        assert by_name["auth-old"]["status"] == "UP"
        table = status(isolation.env(COLUMNS="200"), "--timeout", "2")  # wide enough for every column
        assert "auth-old" in table.stdout and "RPC only" in table.stdout and "0.0.9" in table.stdout, table.stdout

        # a consumer that takes a request and never answers (a hung process, or something else on the queue)
        with kombu.Connection(isolation.amqp_uri) as connection:
            channel = connection.channel()
            channel.basic_qos(0, 1, False)
            queue = kombu.Queue("rpc-auth", no_declare=True)
            with kombu.Consumer(channel, queues=[queue], callbacks=[lambda body, message: None]):
                wait_until(lambda: consumer_count(isolation, "auth") == 3, 30, "the silent consumer counted")
                shown = status(isolation.env(), "--json", "--timeout", "1")
                table = status(isolation.env(COLUMNS="200"), "--timeout", "1")
        assert shown.returncode == 1, shown.stdout + shown.stderr
        auth = next(s for s in json.loads(shown.stdout)["services"] if s["name"] == "auth")
        assert auth["consumers"] == 3 and len(auth["instances"]) == 3, auth
        answered = sorted((i["instance"] or "-", i["answered"] or "-", i["status"]) for i in auth["instances"])
        assert answered == [("-", "-", "NO_ANSWER"), ("auth-new", "probe", "UP"), ("auth-old", "rpc", "UP")], answered
        assert table.returncode == 1 and "no answer" in table.stdout and "NO ANSWER" in table.stdout, table.stdout
    finally:
        stop_all(processes)
        isolation.destroy()


def test_status_shows_requests_waiting_for_a_service_nobody_runs(tmp_path):
    isolation = Isolation(data_dir=tmp_path).create()
    try:
        with kombu.Connection(isolation.amqp_uri) as connection:  # agent's queue, as a stopped agent left it
            exchange = kombu.Exchange("nameko-rpc", type="topic", durable=True)
            queue = kombu.Queue("rpc-agent", exchange, routing_key="agent.*", durable=True)
            producer = connection.Producer()
            for _ in range(3):
                producer.publish(
                    {"args": [], "kwargs": {}},
                    exchange=exchange,
                    routing_key="agent.health",
                    declare=[queue],
                    serializer="json",
                )
        shown = status(isolation.env(), "--json", "--timeout", "1")
        assert shown.returncode == 1
        services = {s["name"]: s for s in json.loads(shown.stdout)["services"]}
        assert services["agent"]["queued"] == 3 and services["agent"]["consumers"] == 0
        assert services["agent"]["instances"] == [] and "SERVICE_UNAVAILABLE" in services["agent"]["error"]
        assert services["auth"]["queued"] is None and "SERVICE_UNAVAILABLE" in services["auth"]["error"]
        table = status(isolation.env(), "--timeout", "1")
        assert table.returncode == 1 and "DOWN" in table.stdout
    finally:
        isolation.destroy()


def test_status_without_a_broker(isolation):
    shown = status(isolation.env(AGENTHUB_AMQP_URI="amqp://guest:secret@127.0.0.1:1/"), "--json", "--timeout", "1")
    assert shown.returncode == 1
    report = json.loads(shown.stdout)
    assert not report["broker"]["reachable"] and "secret" not in shown.stdout
