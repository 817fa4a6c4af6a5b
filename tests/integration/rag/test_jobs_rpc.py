"""Ingestion jobs under stress, each on a rag process of its own (own vhost, Redis
prefix and data dir), because these tests kill it or load it with a big document."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from gateway.rpc import RpcClient
from tests.integration.rag.test_service_rpc import As, someone
from tests.support.accounts import mark_revocations_published
from tests.support.stack import Isolation, ServiceProcess

WORDS = (
    "river stone harbour lantern orchard meadow copper signal winter garden engine valley thunder "
    "letter compass bridge cellar market violin shadow canyon feather glacier"
).split()


def text_of(size: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    sentences, total = [], 0
    while total < size:
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20))).capitalize() + "."
        sentences.append(sentence)
        total += len(sentence) + 1
    return " ".join(sentences)


class OwnRag:
    def __init__(self, tmp_path_factory, **env: str) -> None:
        self.isolation = Isolation(data_dir=tmp_path_factory.mktemp("rag-own")).create()
        mark_revocations_published(self.isolation.redis_prefix)  # no auth service here
        self.env = env
        self.processes: list[ServiceProcess] = []

    def start(self) -> ServiceProcess:
        process = ServiceProcess(self.isolation, "services.rag.service", "rag", **self.env)
        self.processes.append(process)
        return process.wait_until_consuming(timeout=120)

    async def client(self) -> RpcClient:
        client = RpcClient(self.isolation.amqp_uri, default_timeout=20.0, name="rag-jobs-test")
        await client.start(wait=10)
        return client

    def close(self) -> None:
        for process in self.processes:
            if process.process.poll() is None:
                process.process.kill()  # don't wait for a long embedding to finish
                process.process.wait()
            process.stop()
        self.isolation.destroy()


@pytest.fixture
def own_rag(tmp_path_factory):
    created: list[OwnRag] = []

    def make(**env: str) -> OwnRag:
        created.append(OwnRag(tmp_path_factory, **env))
        return created[-1]

    yield make
    for rag in created:
        rag.close()


async def wait_for(alice: As, job: dict, condition, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while not condition(job):
        assert time.monotonic() < deadline, f"condition not met: {job}"
        await asyncio.sleep(0.1)
        job = await alice("job", job["id"])
    return job


async def test_health_answers_within_200ms_while_2mb_are_embedded(own_rag):
    rag = own_rag()
    rag.start()
    client = await rag.client()
    try:
        alice = As(client, someone())
        job = await alice("ingest_text", title="big.txt", text=text_of(2 * 1024 * 1024), timeout=60)
        job = await wait_for(alice, job, lambda j: j["status"] == "RUNNING" and j["progress"] >= 0.06)
        latencies = []
        for _ in range(25):
            started = time.perf_counter()
            health = await client.call("rag", "health", timeout=5)
            latencies.append(time.perf_counter() - started)
            assert health["status"] == "UP"
            await asyncio.sleep(0.1)
        job = await alice("job", job["id"])
        assert job["status"] == "RUNNING", "the document was embedded before the measurement ended"
        # Embedding on the hub would hold each call for a batch (a quarter of a second or more). One
        # call in 25 may meet a hiccup of this shared 2-core machine, whose cores the embedder fills
        # (CI once saw 210 ms once, the other calls 4-19 ms); none may take half a second.
        slowest, *rest = sorted(latencies, reverse=True)
        assert max(rest) < 0.2 and slowest < 0.5, f"health took {[round(s * 1000) for s in latencies]} ms"
    finally:
        await client.close()


async def test_a_job_whose_worker_is_killed_is_retried_and_finishes(own_rag):
    rag = own_rag(AGENTHUB_RAG_JOB_LEASE_SECONDS="2")
    first = rag.start()
    client = await rag.client()
    try:
        alice = As(client, someone())
        # long enough not to end between the check below and the kill on a fast embedder (240 KiB
        # was 1.5 s of work in all on this project's fastest 2026-12 host; 512 KiB is 8-11 s on 2
        # cores with AVX2 alone, and the retry does all of it again)
        job = await alice("ingest_text", title="medium.txt", text=text_of(512 * 1024, seed=3), timeout=60)
        job = await wait_for(alice, job, lambda j: j["status"] == "RUNNING" and j["progress"] >= 0.06)
        first.process.kill()
        first.process.wait()
        rag.start()
        job = await wait_for(alice, job, lambda j: j["status"] in ("DONE", "FAILED"), timeout=150)
        assert job["status"] == "DONE", job
        assert job["attempts"] == 2
        hits = await alice("search", "lantern orchard", top_k=3)
        assert hits and hits[0]["document_id"] == job["document_id"]
    finally:
        await client.close()
