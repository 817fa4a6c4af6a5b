"""The rag service over real AMQP: ``nameko run`` on the run's vhost, called as the gateway does."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid

import pytest

from core.settings import CommonSettings
from core.tokens import TokenCodec
from gateway.rpc import RpcClient
from schema.errors import BadUserInput, Forbidden, NotFound, Unauthenticated

LIGHTHOUSE = (
    "The lighthouse keeper trims the wick at dusk. Fresnel lenses focus the beam across the bay. "
    "Ships read the flashing pattern to know which coast they are near."
)


def mint(user_id: str, role: str = "user") -> str:
    codec = TokenCodec(CommonSettings(env="development"))
    return codec.issue(subject=user_id, role=role, session_id=uuid.uuid4().hex, ttl=3600).token


class As:
    """Calls the rag service as one user."""

    def __init__(self, client: RpcClient, user_id: str, role: str = "user") -> None:
        self.client, self.user_id, self.token = client, user_id, mint(user_id, role)

    async def __call__(self, method: str, *args, timeout: float = 20.0, **kwargs):
        context = {"auth_token": self.token, "user_id": self.user_id, "request_id": uuid.uuid4().hex}
        return await self.client.call("rag", method, args, kwargs, timeout=timeout, context=context)

    async def wait(self, job: dict, timeout: float = 90.0) -> dict:
        deadline = time.monotonic() + timeout
        while job["status"] not in ("DONE", "FAILED", "CANCELLED"):
            assert time.monotonic() < deadline, f"job still {job['status']} after {timeout} s"
            await asyncio.sleep(0.2)
            job = await self("job", job["id"])
        return job


@pytest.fixture
async def client(isolation, stack):
    client = RpcClient(isolation.amqp_uri, default_timeout=20.0, name="rag-test")
    await client.start(wait=10)
    yield client
    await client.close()


def someone() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


async def test_health_reports_store_and_catalog(client):
    health = await client.call("rag", "health", timeout=10)
    assert health["status"] == "UP", health
    assert {d["name"] for d in health["dependencies"]} == {"redis", "store", "catalog"}


async def test_anonymous_callers_are_refused(client):
    with pytest.raises(Unauthenticated):
        await client.call("rag", "search", ["anything"])


async def test_a_guest_may_not_search(client):
    guest = As(client, someone(), role="guest")
    with pytest.raises(Forbidden):
        await guest("search", "anything")


async def test_users_never_see_each_others_private_documents(client):
    alice, bob = As(client, someone()), As(client, someone())
    job = await alice.wait(
        await alice("ingest_text", title="lighthouse.txt", text=LIGHTHOUSE, metadata={"topic": "sea"})
    )
    assert job["status"] == "DONE", job
    document_id = job["document_id"]

    hits = await alice("search", "lighthouse lens beam", top_k=3)
    assert hits[0]["document_id"] == document_id
    assert (await alice("document", document_id))["metadata"] == {"topic": "sea"}

    for mode in ("HYBRID", "KEYWORD", "SEMANTIC"):
        assert all(h["document_id"] != document_id for h in await bob("search", "lighthouse lens beam", mode=mode))
    answer = await bob("ask", "What does the lighthouse keeper do at dusk?")
    assert all(c["document_id"] != document_id for c in answer["citations"])
    page = await bob("documents")
    assert all(d["id"] != document_id for d in page["items"])
    for method in ("document", "download", "delete_document"):
        with pytest.raises(NotFound):
            await bob(method, document_id)
    with pytest.raises(NotFound):
        await bob("job", job["id"])
    # the owner still has it, and the extractive answer cites it
    answer = await alice("ask", "What does the lighthouse keeper do at dusk?")
    assert answer["mode"] == "EXTRACTIVE" and answer["citations"][0]["document_id"] == document_id


async def test_re_ingesting_the_same_content_is_a_no_op(client):
    alice = As(client, someone())
    first = await alice.wait(await alice("ingest_text", title="a.txt", text=LIGHTHOUSE + " Once."))
    again = await alice("ingest_text", title="b.txt", text=LIGHTHOUSE + " Once.")
    assert again["status"] == "DONE" and again["document_id"] == first["document_id"]
    # alice's own: the listing also shows other users' PUBLIC collections (tests that ran before)
    mine = [d for d in (await alice("documents"))["items"] if d["owner"] == alice.user_id]
    assert [d["id"] for d in mine] == [first["document_id"]]


async def test_new_content_for_the_same_source_replaces_the_old(client):
    alice = As(client, someone())
    first = await alice.wait(
        await alice("ingest_text", title="menu.txt", text="Today we serve pumpernickel. " + LIGHTHOUSE)
    )
    second = await alice.wait(
        await alice("ingest_text", title="menu.txt", text="Today we serve focaccia. " + LIGHTHOUSE)
    )
    assert second["document_id"] == first["document_id"]
    assert await alice("search", "pumpernickel", mode="KEYWORD") == []
    assert (await alice("search", "focaccia", mode="KEYWORD"))[0]["document_id"] == first["document_id"]


async def test_collections_members_and_delete_rights(client):
    owner, viewer, editor = As(client, someone()), As(client, someone()), As(client, someone())
    collection = await owner("create_collection", "handbook")
    job = await owner.wait(await owner("ingest_text", title="h.txt", text=LIGHTHOUSE, collection="handbook"))
    with pytest.raises(NotFound):
        await viewer("documents", collection=collection["id"])
    await owner("add_collection_member", collection["id"], viewer.user_id, "VIEWER")
    await owner("add_collection_member", collection["id"], editor.user_id, "EDITOR")
    with pytest.raises(NotFound):  # an invitation until accepted
        await viewer("documents", collection=collection["id"])
    await viewer("accept_collection_invitation", collection["id"])
    await editor("accept_collection_invitation", collection["id"])
    assert (await viewer("documents", collection=collection["id"]))["total_count"] == 1
    with pytest.raises(Forbidden):
        await viewer("delete_document", job["document_id"])
    deleted = await editor("delete_document", job["document_id"])
    assert deleted["id"] == job["document_id"]
    with pytest.raises(NotFound):
        await owner("document", job["document_id"])


async def test_upload_rejects_a_file_whose_content_is_not_its_type(client):
    alice = As(client, someone())
    with pytest.raises(BadUserInput) as raised:
        await alice("upload", "slides.docx", base64.b64encode(b"plain words").decode())
    assert raised.value.extensions["filename"] == "slides.docx"
    with pytest.raises(BadUserInput) as raised:
        await alice("search", "", top_k=99)
    assert set(raised.value.extensions["fields"]) == {"query", "topK"}


async def test_upload_and_download_the_original(client):
    alice = As(client, someone())
    data = "# Über Leuchttürme\n\nDas Leuchtfeuer blinkt nachts.".encode()
    job = await alice.wait(await alice("upload", "leuchtturm.md", base64.b64encode(data).decode()))
    document = await alice("document", job["document_id"])
    assert document["mime_type"] == "text/markdown" and document["title"] == "leuchtturm.md"
    download = await alice("download", job["document_id"])
    assert base64.b64decode(download["content_base64"]) == data
