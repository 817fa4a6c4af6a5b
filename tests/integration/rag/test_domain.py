"""The rag domain without AMQP: the real model, the embedded store, Redis and SQLite."""

from __future__ import annotations

import base64
import copy
import uuid

import pytest

from schema.errors import BadUserInput, Conflict, Forbidden, NotFound
from schema.rag import (
    AddMemberInput,
    AskInput,
    CreateCollectionInput,
    DocumentsInput,
    IngestTextInput,
    JobStatus,
    MemberRole,
    SearchInput,
    SearchMode,
    UploadInput,
    Visibility,
)
from schema.validation import parse
from tests.support import samples
from tests.support.fixtures.rag import drain, identity

VOLCANO = (
    "Volcanoes erupt when magma rises through the crust. Basaltic lava flows are runny and hot. "
    "The Mauna Loa volcano in Hawaii is one of the largest on Earth."
)
BAKING = (
    "Sourdough bread rises thanks to wild yeast and lactic acid bacteria. A starter is fed with flour "
    "and water every day. Bakers score the loaf before it goes into a hot oven."
)
ORBITS = (
    "Satellites in geostationary orbit circle the Earth once a day. Low Earth orbit lies below two "
    "thousand kilometres. Orbital decay is caused by atmospheric drag."
)


def user() -> str:
    return f"u-{uuid.uuid4().hex[:8]}"


def ingest(library, who, title, text, collection=None, metadata=None):
    job = library.submission.ingest_text(
        identity(who), IngestTextInput(title=title, text=text, collection=collection, metadata=metadata)
    )
    drain(library)
    return library.submission.job(identity(who), job.id)


def test_ingest_then_search_finds_the_document(library):
    alice = user()
    job = ingest(library, alice, "volcanoes.txt", VOLCANO)
    assert job.status is JobStatus.DONE and job.progress == 1 and job.chunk_count >= 1
    hits = library.reads.search(identity(alice), SearchInput(query="lava and magma eruptions"))
    assert hits and hits[0].document_id == job.document_id and hits[0].title == "volcanoes.txt"
    for mode in (SearchMode.KEYWORD, SearchMode.SEMANTIC):
        hits = library.reads.search(identity(alice), SearchInput(query="magma", mode=mode))
        assert hits[0].document_id == job.document_id


def test_private_documents_are_invisible_to_others(library):
    alice, bob = user(), user()
    job = ingest(library, alice, "bread.txt", BAKING)
    bob_id = identity(bob)
    assert library.reads.search(bob_id, SearchInput(query="sourdough starter flour")) == [] or all(
        h.document_id != job.document_id for h in library.reads.search(bob_id, SearchInput(query="sourdough"))
    )
    with pytest.raises(NotFound):
        library.reads.document(bob_id, job.document_id)
    with pytest.raises(NotFound):
        library.reads.download(bob_id, job.document_id)
    with pytest.raises(NotFound):
        library.reads.delete_document(bob_id, job.document_id)
    with pytest.raises(NotFound):
        library.submission.job(bob_id, job.id)
    assert all(d.id != job.document_id for d in library.reads.documents(bob_id, DocumentsInput()).items)
    answer = library.reads.ask(bob_id, AskInput(question="How does sourdough rise?"))
    assert all(c.document_id != job.document_id for c in answer.citations)
    # an admin sees everything
    assert library.reads.document(identity(user(), "admin"), job.document_id).id == job.document_id


def test_shared_and_public_collections(library):
    owner, viewer, stranger = user(), user(), user()
    shared = library.reads.create_collection(identity(owner), CreateCollectionInput(name="space"))
    job = ingest(library, owner, "orbits.txt", ORBITS, collection=shared.id)
    with pytest.raises(NotFound):
        library.reads.document(identity(viewer), job.document_id)
    library.reads.add_member(
        identity(owner), AddMemberInput(collection=shared.id, user_id=viewer, role=MemberRole.VIEWER)
    )
    with pytest.raises(NotFound):  # invited, not yet a member
        library.reads.document(identity(viewer), job.document_id)
    assert [c.id for c in library.reads.invitations(identity(viewer))] == [shared.id]
    library.reads.accept_invitation(identity(viewer), shared.id)
    assert library.reads.document(identity(viewer), job.document_id).collection_name == "space"
    hits = library.reads.search(identity(viewer), SearchInput(query="geostationary orbit", collections=[shared.id]))
    assert hits and hits[0].document_id == job.document_id
    with pytest.raises(Forbidden):  # a viewer reads but does not delete
        library.reads.delete_document(identity(viewer), job.document_id)
    with pytest.raises(Forbidden):  # nor add documents
        library.submission.ingest_text(identity(viewer), IngestTextInput(title="x", text="y", collection=shared.id))
    with pytest.raises(NotFound):  # a stranger does not learn the collection exists
        library.reads.search(identity(stranger), SearchInput(query="orbit", collections=[shared.id]))
    public = library.reads.create_collection(
        identity(owner), CreateCollectionInput(name="open", visibility=Visibility.PUBLIC)
    )
    public_job = ingest(library, owner, "public-orbits.txt", ORBITS + " Public copy.", collection=public.id)
    assert library.reads.document(identity(stranger), public_job.document_id).id == public_job.document_id
    with pytest.raises(Conflict):
        library.reads.create_collection(identity(owner), CreateCollectionInput(name="space"))


def test_same_content_is_the_same_document(library):
    alice = user()
    first = ingest(library, alice, "a.txt", VOLCANO + " Unique one.")
    again = library.submission.ingest_text(
        identity(alice), IngestTextInput(title="copy.txt", text=VOLCANO + " Unique one.")
    )
    assert library.wake.jobs == [] and again.status is JobStatus.DONE and again.document_id == first.document_id


def test_new_content_replaces_the_old_chunks(library):
    alice = user()
    first = ingest(library, alice, "notes.txt", "The secret password is marmalade. " + VOLCANO)
    second = ingest(library, alice, "notes.txt", "The secret password is gooseberry. " + VOLCANO)
    assert second.document_id == first.document_id
    hits = library.reads.search(identity(alice), SearchInput(query="marmalade", mode=SearchMode.KEYWORD))
    assert all("marmalade" not in h.content for h in hits)
    hits = library.reads.search(identity(alice), SearchInput(query="gooseberry", mode=SearchMode.KEYWORD))
    assert hits and hits[0].document_id == first.document_id
    assert (
        library.store.count({"field": "meta.document_id", "operator": "==", "value": first.document_id})
        == library.reads.document(identity(alice), first.document_id).chunk_count
    )


def test_metadata_filters(library):
    alice = user()
    en = ingest(library, alice, "en.txt", ORBITS + " English.", metadata={"lang": "en"})
    de = ingest(library, alice, "de.txt", ORBITS + " German.", metadata={"lang": "de"})
    hits = library.reads.search(identity(alice), SearchInput(query="orbit", filters={"lang": "de"}))
    assert {h.document_id for h in hits} == {de.document_id}
    hits = library.reads.search(identity(alice), SearchInput(query="orbit", filters={"lang": ["de", "en"]}))
    assert {h.document_id for h in hits} >= {de.document_id, en.document_id}


def test_extractive_answer_cites_and_admits_ignorance(library):
    alice = user()
    job = ingest(library, alice, "volcano-facts.txt", VOLCANO)
    answer = library.reads.ask(identity(alice), AskInput(question="Which volcano in Hawaii is one of the largest?"))
    assert answer.found and answer.mode.value == "EXTRACTIVE"
    assert answer.citations[0].document_id == job.document_id and "[1]" in answer.answer
    nothing = library.reads.ask(
        identity(alice), AskInput(question="What is the capital of Mongolia's stock exchange index?")
    )
    assert not nothing.found and nothing.citations == []


def test_delete_removes_chunks_and_is_not_found_afterwards(library):
    alice = user()
    job = ingest(library, alice, "gone.txt", "Zanzibar quokka " + BAKING)
    library.reads.delete_document(identity(alice), job.document_id)
    with pytest.raises(NotFound):
        library.reads.document(identity(alice), job.document_id)
    assert library.reads.search(identity(alice), SearchInput(query="zanzibar quokka", mode=SearchMode.KEYWORD)) == []
    assert library.store.count({"field": "meta.document_id", "operator": "==", "value": job.document_id}) == 0


def test_upload_checks_the_content_not_the_name(library):
    alice = identity(user())
    fake_pdf = UploadInput(filename="report.pdf", content_base64=base64.b64encode(b"just text").decode())
    with pytest.raises(BadUserInput) as raised:
        library.submission.upload(alice, fake_pdf)
    assert raised.value.details["filename"] == "report.pdf"
    html = (
        b"<!doctype html><html><head><title>Cats</title></head><body><article>"
        b"<p>Kittens purr when they are content, and they knead soft blankets with their paws.</p>"
        b"<p>Older cats sleep for most of the day, often in a warm patch of sunlight near a window.</p>"
        b"<p>A cat's whiskers sense tiny changes in the air, which helps it move around in the dark.</p>"
        b"</article></body></html>"
    )
    job = library.submission.upload(
        alice, UploadInput(filename="ünïcode page", content_base64=base64.b64encode(html).decode())
    )
    outcomes = drain(library)
    assert outcomes == ["done"], (outcomes, library.submission.job(alice, job.id))
    document = library.reads.document(alice, library.submission.job(alice, job.id).document_id)
    assert document.title == "ünïcode page" and document.mime_type == "text/html"
    assert base64.b64decode(library.reads.download(alice, document.id).content_base64) == html


def test_a_file_without_text_fails_the_job_with_the_reason(library):
    alice = identity(user())
    job = library.submission.upload(
        alice, UploadInput(filename="broken.pdf", content_base64=base64.b64encode(b"%PDF-1.4 broken").decode())
    )
    drain(library)
    job = library.submission.job(alice, job.id)
    assert job.status is JobStatus.FAILED and job.error_code == "UNREADABLE_FILE", job
    assert job.error == "the file could not be read: Stream has ended unexpectedly"
    assert library.reads.document(alice, job.document_id).status.value == "FAILED"


def test_bad_input_names_the_fields():
    with pytest.raises(BadUserInput) as raised:
        parse(SearchInput, {"query": "", "top_k": 500})
    assert set(raised.value.details["fields"]) == {"query", "topK"}


def test_documents_paginate(library):
    alice = user()
    collection = library.reads.create_collection(identity(alice), CreateCollectionInput(name="pages"))
    for n in range(3):
        ingest(library, alice, f"p{n}.txt", f"Page {n} talks about item {n}. " + ORBITS, collection=collection.id)
    first = library.reads.documents(identity(alice), DocumentsInput(collection=collection.id, first=2))
    assert len(first.items) == 2 and first.total_count == 3 and first.has_next_page
    rest = library.reads.documents(
        identity(alice), DocumentsInput(collection=collection.id, first=2, after=first.end_cursor)
    )
    assert len(rest.items) == 1 and not rest.has_next_page


def test_a_replacement_is_never_half_visible(library, monkeypatch):
    """Searches around the catalog's flip see exactly one version: old before, new after."""
    alice = user()
    ingest(library, alice, "swap.txt", "The code word is periwinkle. " + ORBITS)
    seen = []

    def visible() -> set[str]:
        found = set()
        for word in ("periwinkle", "tangerine"):
            if library.reads.search(identity(alice), SearchInput(query=word, mode=SearchMode.KEYWORD)):
                found.add(word)
        return found

    real_activate = library.catalog.activate

    def activate(*args, **kwargs):
        seen.append(visible())  # new chunks written, not yet current
        result = real_activate(*args, **kwargs)
        seen.append(visible())  # current, old chunks not yet deleted
        return result

    monkeypatch.setattr(library.catalog, "activate", activate)
    ingest(library, alice, "swap.txt", "The code word is tangerine. " + ORBITS)
    seen.append(visible())
    assert seen == [{"periwinkle"}, {"tangerine"}, {"tangerine"}]


@pytest.mark.parametrize(
    "filename, data, mime_type",
    [
        (
            "penguins.pdf",
            samples.pdf("Emperor penguins huddle together to survive the Antarctic winter."),
            "application/pdf",
        ),
        (
            "penguins.docx",
            samples.docx("Emperor penguins huddle together.", "They survive the Antarctic winter."),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
    ],
)
def test_pdf_and_docx_are_converted(library, filename, data, mime_type):
    alice = identity(user())
    job = library.submission.upload(
        alice, UploadInput(filename=filename, content_base64=base64.b64encode(data).decode())
    )
    drain(library)
    job = library.submission.job(alice, job.id)
    assert job.status is JobStatus.DONE, job.error
    assert library.reads.document(alice, job.document_id).mime_type == mime_type
    hits = library.reads.search(alice, SearchInput(query="penguins antarctic winter", mode=SearchMode.KEYWORD))
    assert hits and hits[0].document_id == job.document_id


def test_cancelling_a_queued_job_ends_it_and_removes_its_staged_file(library):
    alice = user()
    job = library.submission.ingest_text(identity(alice), IngestTextInput(title="later.txt", text=VOLCANO + " Later."))
    assert (library.files.staging / job.id).exists()
    with pytest.raises(NotFound):
        library.submission.cancel_job(identity(user()), job.id)
    cancelled = library.submission.cancel_job(identity(alice), job.id)
    assert cancelled.status is JobStatus.CANCELLED and cancelled.error_code == "CANCELLED"
    assert drain(library) == ["finished"]  # its wake-up arrives late: nothing runs
    assert not (library.files.staging / job.id).exists()
    assert library.reads.document(identity(alice), job.document_id).status.value == "FAILED"
    assert library.submission.cancel_job(identity(alice), job.id).status is JobStatus.CANCELLED


def test_the_reaper_removes_staged_files_no_active_job_needs(library):
    import os
    import time

    orphan = library.files.staging / ("0" * 32)
    orphan.write_bytes(b"left behind by a job that ended without cleaning up")
    waiting = library.submission.ingest_text(
        identity(user()), IngestTextInput(title="w.txt", text=BAKING + " Waiting.")
    )
    old = time.time() - 3600
    for path in (orphan, library.files.staging / waiting.id):
        os.utime(path, (old, old))
    library.worker.reap()
    assert not orphan.exists()
    assert (library.files.staging / waiting.id).exists()  # QUEUED: still needed
    assert drain(library) == ["done"]
    assert not (library.files.staging / waiting.id).exists()


def test_collections_per_user_come_from_the_settings(library):
    """AGENTHUB_RAG_MAX_COLLECTIONS reaches the domain through RagSettings (it was read from the
    environment at import, so a RagSettings given to build_library could not change it)."""
    limited = copy.copy(library.reads)
    limited.max_collections = 2
    who = identity(user())
    limited.create_collection(who, CreateCollectionInput(name="one"))
    limited.create_collection(who, CreateCollectionInput(name="two"))
    with pytest.raises(BadUserInput) as raised:
        limited.create_collection(who, CreateCollectionInput(name="three"))
    assert raised.value.details == {"reason": "too_many_collections", "limit": 2}
