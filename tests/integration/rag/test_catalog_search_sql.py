"""The two catalog reads every search makes, written as fixed SQL: same answers on SQLite and PostgreSQL."""

from __future__ import annotations

from schema.rag import MemberRole, Visibility
from services.rag.catalog import Catalog


def test_searched_collections_and_current_versions(engine):
    catalog = Catalog(engine)
    mine = catalog.default_collection("me").id
    shared = catalog.create_collection("alice", "shared", Visibility.PRIVATE).id
    catalog.set_member(shared, "me", MemberRole.VIEWER)
    subscribed = catalog.create_collection("bob", "subscribed", Visibility.PUBLIC).id
    catalog.subscribe("me", subscribed)
    unsubscribed = catalog.create_collection("bob", "other public", Visibility.PUBLIC).id
    private = catalog.create_collection("carol", "private", Visibility.PRIVATE).id
    catalog.subscribe("me", private)  # a subscription to what is not public reads nothing

    assert sorted(catalog.searched_collection_ids("me")) == sorted([mine, shared, subscribed])
    assert unsubscribed not in catalog.searched_collection_ids("me")
    assert catalog.searched_collection_ids("nobody") == []

    ready = catalog.prepare(
        owner_id="me", collection_id=mine, source="a.txt", title="A", mime_type="text/plain", size_bytes=1, metadata={}
    )
    catalog.activate(
        ready,
        version="v2",
        content_hash="h",
        chunk_count=1,
        title="A",
        mime_type="text/plain",
        size_bytes=1,
        metadata={},
        original="a",
    )
    pending = catalog.prepare(
        owner_id="me", collection_id=mine, source="b.txt", title="B", mime_type="text/plain", size_bytes=1, metadata={}
    )
    live = catalog.current_versions([ready, pending, ready, "missing"])
    assert list(live) == [ready]
    row = live[ready]
    assert (row.id, row.version, row.owner_id, row.collection_id, row.title) == (ready, "v2", "me", mine, "A")
    assert catalog.current_versions([]) == {}
