"""What a caller sees of the corpus and how they arrange it: collections (with members,
invitations, subscriptions), documents (list, read, delete, download), search and ask.

Everything here but ingestion: submitting documents is ``submission.py``, running
the jobs ``worker.py``. Every method takes the caller's verified ``Identity``; a
document or collection the caller may not read is ``NotFound``, the same answer as
one that does not exist.
"""

from __future__ import annotations

import base64
from datetime import datetime

from core.cursor import decode_cursor, encode_cursor
from core.offload import offload
from schema.errors import BadUserInput, Conflict, Forbidden, NotFound
from schema.models import Identity
from schema.rag import (
    AddMemberInput,
    Answer,
    AskInput,
    Collection,
    CollectionMember,
    CreateCollectionInput,
    Document,
    DocumentPage,
    DocumentsInput,
    DocumentStatus,
    Download,
    SearchHit,
    SearchInput,
    Visibility,
)
from services.rag.access import Scope, collection_for, collection_ids_for, readable_document
from services.rag.answers import Answerer
from services.rag.catalog import Catalog, CollectionView, DocumentRow, DuplicateCollection
from services.rag.corpus import CorpusVersion
from services.rag.files import Files
from services.rag.retrieval import Retriever


def _cursor(row: DocumentRow) -> str:
    return encode_cursor(row.created_at, row.id)


def _parse_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    created, document_id = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(created), document_id
    except ValueError:
        raise BadUserInput.for_fields({"after": "is not a cursor this API returned"}) from None


def document_payload(row: DocumentRow, names: dict[str, str]) -> Document:
    return Document(
        id=row.id,
        title=row.title,
        collection=row.collection_id,
        collection_name=names.get(row.collection_id, ""),
        owner=row.owner_id,
        mime_type=row.mime_type,
        size_bytes=row.size_bytes,
        content_hash=row.content_hash,
        chunk_count=row.chunk_count,
        status=DocumentStatus(row.status),
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        metadata=row.meta or {},
    )


def collection_payload(view: CollectionView, subscribed: bool = False) -> Collection:
    return Collection(
        id=view.id,
        name=view.name,
        visibility=view.visibility,
        owner=view.owner_id,
        role=view.role,
        created_at=view.created_at,
        subscribed=subscribed,
        members=[CollectionMember(user_id=u, role=r) for u, r in view.members],
    )


class Reads:
    def __init__(
        self,
        *,
        catalog: Catalog,
        store,
        retriever: Retriever,
        answerer: Answerer,
        files: Files,
        corpus: CorpusVersion,
        max_collections: int,
    ) -> None:
        self.catalog, self.store, self.retriever, self.answerer = catalog, store, retriever, answerer
        self.files, self.corpus, self.max_collections = files, corpus, max_collections

    def _document(self, row: DocumentRow) -> Document:
        return document_payload(row, self.catalog.collection_names({row.collection_id}))

    # ------------------------------------------------------------ collections

    def collections(self, identity: Identity) -> list[Collection]:
        self.catalog.default_collection(identity.user_id)
        subscribed = self.catalog.subscribed_ids(identity.user_id)
        return [
            collection_payload(v, v.id in subscribed)
            for v in self.catalog.readable_collections(identity.user_id, identity.is_admin)
        ]

    def subscribe(self, identity: Identity, ref: str) -> Collection:
        """Search another user's PUBLIC collection by default from now on (my choice, undone by unsubscribe)."""
        view = collection_for(self.catalog, identity, ref)
        if view.owner_id == identity.user_id or view.visibility is not Visibility.PUBLIC:
            raise BadUserInput.for_fields({"collection": "only another user's PUBLIC collection can be subscribed to"})
        self.catalog.subscribe(identity.user_id, view.id)
        return collection_payload(view, True)

    def invitations(self, identity: Identity) -> list[Collection]:
        return [collection_payload(view) for view in self.catalog.invitations(identity.user_id)]

    def accept_invitation(self, identity: Identity, collection_id: str) -> Collection:
        if not self.catalog.accept(collection_id, identity.user_id):
            raise NotFound("No invitation to this collection.", {"resource": "invitation"})
        self.corpus.bump()
        return collection_payload(collection_for(self.catalog, identity, collection_id))

    def unsubscribe(self, identity: Identity, ref: str) -> bool:
        return self.catalog.unsubscribe(identity.user_id, collection_for(self.catalog, identity, ref).id)

    def create_collection(self, identity: Identity, data: CreateCollectionInput) -> Collection:
        if self.catalog.owned_count(identity.user_id) >= self.max_collections:
            raise BadUserInput(
                f"You have {self.max_collections} collections, the most allowed.",
                {"reason": "too_many_collections", "limit": self.max_collections},
            )
        try:
            view = self.catalog.create_collection(identity.user_id, data.name, data.visibility)
        except DuplicateCollection:
            raise Conflict(f"You already have a collection named '{data.name}'.", {"field": "name"}) from None
        self.corpus.bump()
        return collection_payload(view)

    def add_member(self, identity: Identity, data: AddMemberInput) -> Collection:
        view = collection_for(self.catalog, identity, data.collection)
        if not view.manageable:
            raise Forbidden("Only the collection's owner or an admin may add members.")
        if data.user_id == view.owner_id:
            raise BadUserInput.for_fields({"userId": "is the collection's owner"})
        if identity.is_admin:
            self.catalog.set_member(view.id, data.user_id, data.role)
        else:  # a membership is offered; it counts once the user accepts it (acceptCollectionInvitation)
            self.catalog.invite(view.id, data.user_id, data.role)
        self.corpus.bump()
        return collection_payload(collection_for(self.catalog, identity, view.id))

    # ------------------------------------------------------------ documents

    def documents(self, identity: Identity, data: DocumentsInput) -> DocumentPage:
        after = _parse_cursor(data.after)
        if data.collection is not None:
            rows, total = self.catalog.list_documents(
                [collection_for(self.catalog, identity, data.collection).id], None, data.first, after
            )
        elif identity.is_admin:
            rows, total = self.catalog.list_documents(None, None, data.first, after)
        else:
            scope = Scope.of(identity, self.catalog)
            rows, total = self.catalog.list_documents(sorted(scope.collection_ids), identity.user_id, data.first, after)
        page, more = rows[: data.first], len(rows) > data.first
        names = self.catalog.collection_names({r.collection_id for r in page})
        return DocumentPage(
            items=[document_payload(r, names) for r in page],
            total_count=total,
            end_cursor=_cursor(page[-1]) if page else None,
            has_next_page=more,
        )

    def document(self, identity: Identity, document_id: str) -> Document:
        return self._document(readable_document(self.catalog, identity, document_id))

    def delete_document(self, identity: Identity, document_id: str) -> Document:
        row = readable_document(self.catalog, identity, document_id)
        role = self.catalog.collection(row.collection_id, identity.user_id, identity.is_admin)
        if not (identity.is_admin or row.owner_id == identity.user_id or (role is not None and role.writable)):
            raise Forbidden("Only the document's owner, an editor of its collection or an admin may delete it.")
        payload = self._document(row)
        self.catalog.delete(row.id)  # from here on no search returns its chunks
        offload(self.store.delete_document, row.id)
        self.files.forget(row.original)
        self.corpus.bump()
        return payload

    def download(self, identity: Identity, document_id: str) -> Download:
        row = readable_document(self.catalog, identity, document_id)
        if not row.original:
            raise NotFound("This document has no stored original yet.", {"resource": "document"})
        data = self.files.original(row.original)
        return Download(
            document_id=row.id,
            filename=row.source,
            mime_type=row.mime_type,
            size_bytes=len(data),
            content_base64=base64.b64encode(data).decode(),
        )

    # ------------------------------------------------------------ retrieval

    def search(self, identity: Identity, data: SearchInput) -> list[SearchHit]:
        collection_ids = collection_ids_for(self.catalog, identity, data.collections)
        hits = self.retriever.search(
            Scope.for_search(identity, self.catalog, collection_ids),
            data.query,
            top_k=data.top_k,
            mode=data.mode,
            collection_ids=collection_ids,
            filters=data.filters,
        )
        return [
            SearchHit(
                chunk_id=h.chunk_id,
                document_id=h.document_id,
                title=h.title,
                content=h.content,
                score=round(h.score, 6),
            )
            for h in hits
        ]

    def ask(self, identity: Identity, data: AskInput) -> Answer:
        collection_ids = collection_ids_for(self.catalog, identity, data.collections)
        return self.answerer.ask(
            Scope.for_search(identity, self.catalog, collection_ids),
            data.question,
            top_k=data.top_k,
            collection_ids=collection_ids,
        )
