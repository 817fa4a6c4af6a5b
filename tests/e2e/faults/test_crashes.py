"""SIGKILL of each process mid-work: ``agenthub up`` restarts it, no job is lost or duplicated,
and a crash of the local model's process costs one run its model, never the agent."""

from __future__ import annotations

import signal
import threading
import time

import httpx
import psutil
import pytest

from services.agent.llm import local_installed
from tests.e2e.faults.conftest import Client, outcome, start_servers, wait_for_ok
from tests.support.servers import pending_stdin, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(900)]

INGEST = (
    "mutation($t: String!, $x: String!, $c: String) "
    "{ ingestText(input: {title: $t, text: $x, collection: $c}) { id status } }"
)
JOB = "query($id: ID!) { ingestionJob(id: $id) { status chunkCount error attempts documentId } }"
RUN = "mutation($m: String!) { runAgent(input: {message: $m}) { id status mode answer error } }"
ME = "{ me { id } }"
SESSIONS = "{ sessions { id } }"  # answered by auth
CONVERSATIONS = "{ conversations(first: 50) { nodes { id } } }"  # answered by agent


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    # The local model when it is installed, so its process can be crashed too.
    # Eight tokens an answer: the crash, not the model's speed on a loaded machine, is under test.
    yield from start_servers(
        tmp_path_factory,
        AGENTHUB_LLM_BACKEND="local" if local_installed() else "none",
        AGENTHUB_LLM_MAX_TOKENS="8",
        AGENTHUB_AGENT_RUN_TIMEOUT="150",
    )


@pytest.fixture(scope="module")
def client(servers):
    client = Client(servers.url).sign_up()
    yield client
    client.close()


def document(n: int) -> str:
    """About 1,500 words in sentences no other document shares."""
    return " ".join(
        f"Ledger {n} entry {i} records that crate {n}-{i} of heron figs left dock {i % 7} on time." for i in range(110)
    )


def ingest_all(client: Client, collection: str, count: int) -> list[str]:
    return [
        client.data(INGEST, {"t": f"ledger-{n}.txt", "x": document(n), "c": collection})["ingestText"]["id"]
        for n in range(count)
    ]


def finished_jobs(client: Client, job_ids: list[str]) -> list[dict] | None:
    jobs = [client.data(JOB, {"id": job_id})["ingestionJob"] for job_id in job_ids]
    return jobs if all(job["status"] in ("DONE", "FAILED") for job in jobs) else None


def create_collection(client: Client, name: str) -> str:
    return client.data("mutation($n: String!) { createCollection(name: $n) { id } }", {"n": name})["createCollection"][
        "id"
    ]


class Loop:
    """A query repeated in a thread; records each outcome and the slowest answer."""

    def __init__(self, client: Client, query: str, variables: dict | None = None) -> None:
        self.client, self.query, self.variables = client, query, variables
        self.outcomes: dict[str, int] = {}
        self.slowest = 0.0
        self.started = time.monotonic()  # when the request in flight began
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.started = started = time.monotonic()
            try:
                seen = outcome(*self.client.gql(self.query, self.variables))
            except Exception as error:  # a dropped connection is an outcome too
                seen = type(error).__name__
            self.slowest = max(self.slowest, time.monotonic() - started)
            self.outcomes[seen] = self.outcomes.get(seen, 0) + 1
            time.sleep(0.1)

    def wait_answering(self, timeout: float = 60) -> None:
        try:
            wait_until(lambda: self.outcomes.get("ok"), timeout, f"{self.query!r} answering")
        except TimeoutError as error:
            raise TimeoutError(f"{error}; it saw {self.outcomes}") from None

    def __enter__(self) -> Loop:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(60)


def test_rag_killed_mid_ingestion_is_restarted_and_every_job_finishes_exactly_once(servers, client):
    control = create_collection(client, "control")
    expected = {
        job["documentId"]: job
        for job in wait_until(lambda: finished_jobs(client, ingest_all(client, control, 4)), 300, "the control jobs")
    }
    expected_counts = sorted(job["chunkCount"] for job in expected.values())
    assert all(job["status"] == "DONE" for job in expected.values()), expected

    faulted = create_collection(client, "faulted")
    job_ids = ingest_all(client, faulted, 4)
    wait_until(
        lambda: any(client.data(JOB, {"id": j})["ingestionJob"]["status"] == "RUNNING" for j in job_ids),
        120,
        "a job running",
        interval=0.05,
    )
    with Loop(client, JOB, {"id": job_ids[-1]}) as loop:
        killed_at = time.monotonic()
        old = servers.stack.kill("rag")
        servers.stack.wait_restarted("rag", old)
        back = time.monotonic() - killed_at
        jobs = wait_until(lambda: finished_jobs(client, job_ids), 300, "every job finished after the kill")
        done = time.monotonic() - killed_at
    assert [job["status"] for job in jobs] == ["DONE"] * 4, jobs
    assert sorted(job["chunkCount"] for job in jobs) == expected_counts
    documents = client.data(
        "query($c: String) { documents(collection: $c, first: 50) { totalCount nodes { chunkCount status } } }",
        {"c": faulted},
    )["documents"]
    assert documents["totalCount"] == 4 and all(d["status"] == "READY" for d in documents["nodes"])
    assert sorted(d["chunkCount"] for d in documents["nodes"]) == expected_counts
    hits = client.data(
        "query($q: String!, $c: [String!]) { search(query: $q, topK: 50, collections: $c) { chunkId content } }",
        {"q": "crate 2-5 of heron figs", "c": [faulted]},
    )["search"]
    contents = [hit["content"] for hit in hits]
    assert len(contents) == len(set(contents)), "a chunk was stored twice"
    assert set(loop.outcomes) <= {"ok", "SERVICE_UNAVAILABLE"}, loop.outcomes
    assert "rag exited (signal SIGKILL (-9)); restart 1 of" in servers.stack.log()
    servers.report.append(
        f"rag SIGKILL mid-ingestion: /readyz 200 again after {back:.1f} s, all 4 jobs DONE "
        f"after {done:.1f} s; a client polling a job saw {loop.outcomes} "
        f"(slowest answer {loop.slowest:.1f} s)"
    )


@pytest.mark.parametrize("service", ["auth", "agent"])
def test_a_killed_service_is_restarted_and_its_callers_get_service_unavailable(servers, client, service):
    query = SESSIONS if service == "auth" else CONVERSATIONS
    with Loop(client, query) as loop:
        loop.wait_answering()
        killed_at = time.monotonic()
        old = servers.stack.kill(service)
        servers.stack.wait_restarted(service, old)
        back = wait_for_ok(client, query, 120) + (time.monotonic() - killed_at)
    assert set(loop.outcomes) <= {"ok", "SERVICE_UNAVAILABLE"}, loop.outcomes
    assert loop.slowest < 10 + 5, f"a call took {loop.slowest:.1f} s, more than its 10 s timeout"
    servers.report.append(
        f"{service} SIGKILL: answering again after {back:.1f} s; a client looping on it saw "
        f"{loop.outcomes} (slowest answer {loop.slowest:.1f} s)"
    )


def test_the_gateway_killed_is_restarted(servers, client):
    killed_at = time.monotonic()
    old = servers.stack.kill("gateway")
    servers.stack.wait_restarted("gateway", old)
    back = wait_for_ok(client, ME, 60) + (time.monotonic() - killed_at)
    servers.report.append(f"gateway SIGKILL: answering again after {back:.1f} s (connections refused meanwhile)")


@pytest.mark.skipif(not local_installed(), reason="the local model (the 'local' extra) is not installed")
def test_a_crashed_model_process_costs_one_run_its_model_not_the_agent(servers, client):
    client.http.timeout = httpx.Timeout(180)
    agent_pid = servers.stack.pid("agent")
    job = client.data(INGEST, {"t": "docks.txt", "x": document(1), "c": None})["ingestText"]["id"]
    wait_until(lambda: finished_jobs(client, [job]), 300, "the document ingested")  # the model needs passages
    question = {"m": "Which dock did crate 1-3 leave from?"}
    first = client.data(RUN, question)["runAgent"]
    assert first["status"] == "FINISHED" and first["mode"] == "FIXED_PLAN", first

    # Dead between two runs: the next run starts a new model process and does not notice.
    worker = model_process(agent_pid)
    worker.send_signal(signal.SIGSEGV)
    wait_until(lambda: not _alive(worker), 10, "the model process dead")
    idle = client.data(RUN, question)["runAgent"]
    assert idle["status"] == "FINISHED" and idle["mode"] == "FIXED_PLAN", (idle, model_log(servers))

    # Dead during a run: frozen, handed the run's prompt, then crashed.
    worker = model_process(agent_pid)
    worker.send_signal(signal.SIGSTOP)
    wait_until(lambda: worker.status() == psutil.STATUS_STOPPED, 10, "the model process frozen")
    answers: list[dict] = []
    thread = threading.Thread(target=lambda: answers.append(client.data(RUN, question)["runAgent"]))
    thread.start()
    wait_until(lambda: pending_stdin(worker.pid), 120, "the run's prompt sent to the model process")
    worker.send_signal(signal.SIGSEGV)
    worker.send_signal(signal.SIGCONT)
    thread.join(180)
    crashed = answers[0]
    assert crashed["status"] == "FINISHED" and crashed["mode"] == "RETRIEVAL_ONLY", (crashed, model_log(servers))
    assert "local model is unavailable" in crashed["answer"]
    assert servers.stack.pid("agent") == agent_pid, "the agent process died with its model"
    log = servers.stack.log()
    assert "answering retrieval-only: The local model's process ended (signal SIGSEGV)" in log
    assert "the local model's process had ended (signal SIGSEGV); starting a new one" in log

    again = client.data(RUN, question)["runAgent"]
    assert again["status"] == "FINISHED" and again["mode"] == "FIXED_PLAN", again
    servers.report.append(
        "model process SIGSEGV between runs: the next run started a new one (FIXED_PLAN); "
        "during a run: that run answered RETRIEVAL_ONLY with the reason logged, the next "
        "FIXED_PLAN again; the agent process stayed up"
    )


def model_log(servers) -> list[str]:
    return [line[:300] for line in servers.stack.log().splitlines() if "model" in line and "dsa" not in line]


def model_process(agent_pid: int) -> psutil.Process:
    workers = [
        p
        for p in psutil.Process(agent_pid).children()
        if "services.agent.model_worker" in " ".join(p.cmdline()) and _alive(p)
    ]
    assert len(workers) == 1, workers
    return workers[0]


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
