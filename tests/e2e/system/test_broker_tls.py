"""The whole system on a broker that speaks TLS only, with a certificate from a private CA, and
that requires a client certificate from the same CA: ``AGENTHUB_AMQP_CA_FILE``,
``AGENTHUB_AMQP_CERT_FILE`` and an ``amqps://`` URI reach every connection (the gateway's
client, the services' Nameko and kombu connections, ``agenthub up``'s and ``status``'s)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from core.settings import CommonSettings
from gateway.rpc import RpcClient
from schema.errors import ServiceUnavailable
from tests.e2e.faults.conftest import FAULT_ENV, Client
from tests.support.servers import RabbitNode, Stack, wait_until
from tests.support.stack import ROOT, Isolation

trustme = pytest.importorskip("trustme", reason="trustme is not installed (dev extra)")

pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.skipif(RabbitNode.available() is not None, reason=str(RabbitNode.available())),
]

INGEST = "mutation($t: String!, $x: String!) { ingestText(input: {title: $t, text: $x}) { id } }"
JOB = "query($id: ID!) { ingestionJob(id: $id) { status chunkCount error } }"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """The private CA and this deployment's client certificate (key in the same file)."""
    base = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(base / "ca.pem")
    ca.issue_cert("agenthub").private_key_and_cert_chain_pem.write_to_path(base / "client.pem")
    return ca, {"AGENTHUB_AMQP_CA_FILE": str(base / "ca.pem"), "AGENTHUB_AMQP_CERT_FILE": str(base / "client.pem")}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, tls):
    ca, files = tls
    with RabbitNode(tls=ca) as rabbit:
        isolation = Isolation(data_dir=tmp_path_factory.mktemp("tls-stack"), broker=rabbit.amqp_uri, node=rabbit.node)
        isolation.create()
        stack = Stack(isolation, **FAULT_ENV, **files)
        try:
            yield stack.start()
        finally:
            stack.stop()
            isolation.destroy()


def test_the_whole_system_runs_over_tls_with_a_private_ca_and_client_certificates(stack):
    status, body = stack.readyz()
    assert status == 200, body

    client = Client(stack.url).sign_up()  # gateway → auth
    try:
        job_id = client.data(INGEST, {"t": "tls.txt", "x": "Herons nest by the locks. " * 40})["ingestText"]["id"]
        # the job's wake-up goes through rag's own kombu connection to the ingestion queue
        job = wait_until(
            lambda: (j := client.data(JOB, {"id": job_id})["ingestionJob"])["status"] in ("DONE", "FAILED") and j,
            120,
            "the ingestion job ending",
        )
        assert job["status"] == "DONE" and job["chunkCount"] > 0, job
    finally:
        client.close()

    status_cli = subprocess.run(
        [sys.executable, "-m", "agenthub", "status", "--json"],
        env=stack.isolation.env(**stack.env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status_cli.returncode == 0, status_cli.stdout + status_cli.stderr
    assert '"reachable": true' in status_cli.stdout


def test_a_client_without_the_certificate_is_refused(stack, tls):
    _, files = tls
    uri = stack.isolation.amqp_uri
    without_client_cert = CommonSettings(amqp_uri=uri, amqp_ca_file=files["AGENTHUB_AMQP_CA_FILE"])
    with_both = CommonSettings(amqp_uri=uri, **{k.removeprefix("AGENTHUB_").lower(): v for k, v in files.items()})

    async def health(settings: CommonSettings) -> str:
        client = RpcClient(uri, default_timeout=10, name="tls-test", tls=settings.amqp_ssl_context())
        await client.start(wait=5)
        try:
            return (await client.call("auth", "health", timeout=10))["status"]
        finally:
            await client.close()

    assert asyncio.run(health(with_both)) == "UP"
    with pytest.raises(ServiceUnavailable):  # never connected: the broker wants a client certificate
        asyncio.run(health(without_client_cert))
