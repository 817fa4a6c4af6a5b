"""Who may read what, as a Haystack metadata filter that goes *into* the retrieval query.

A caller reads a chunk when they own its document, or may read its collection
(owner, member, or the collection is PUBLIC); admins read everything. Search,
ask and agent runs read less by default (``Scope.for_search``): another user's
PUBLIC collection only when the caller names it or subscribed to it. Stores
apply the filter while retrieving, so top-k, scores and counts never involve
a document the caller may not read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from schema.errors import BadUserInput, Forbidden, NotFound
from schema.models import Identity
from services.rag.catalog import AmbiguousCollection


@dataclass(frozen=True)
class Scope:
    user_id: str
    admin: bool
    collection_ids: frozenset[str]  # readable collections (empty for admins: they need none)

    @classmethod
    def of(cls, identity: Identity, catalog) -> Scope:
        if identity.is_admin:
            return cls(identity.user_id, True, frozenset())
        return cls(identity.user_id, False, frozenset(catalog.readable_collection_ids(identity.user_id)))

    @classmethod
    def for_search(cls, identity: Identity, catalog, named: list[str] | None = None) -> Scope:
        """What search, ask and agent runs read: the collections searched by default
        (``Catalog.searched_collection_ids``) plus the ones the caller named, already checked readable."""
        if identity.is_admin:
            return cls(identity.user_id, True, frozenset())
        return cls(
            identity.user_id,
            False,
            frozenset(catalog.searched_collection_ids(identity.user_id)) | frozenset(named or ()),
        )

    def can_read(self, owner_id: str, collection_id: str) -> bool:
        return self.admin or owner_id == self.user_id or collection_id in self.collection_ids

    def access_filter(self) -> dict[str, Any] | None:
        if self.admin:
            return None
        return {
            "operator": "OR",
            "conditions": [
                {"field": "meta.owner_id", "operator": "==", "value": self.user_id},
                {"field": "meta.collection_id", "operator": "in", "value": sorted(self.collection_ids)},
            ],
        }

    def key(self) -> str:
        """Identifies what this scope can read, for cache keys."""
        material = "admin" if self.admin else f"{self.user_id}|{','.join(sorted(self.collection_ids))}"
        return hashlib.sha256(material.encode()).hexdigest()[:32]


def combine(*filters: dict[str, Any] | None) -> dict[str, Any] | None:
    present = [f for f in filters if f]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return {"operator": "AND", "conditions": present}


def metadata_filter(filters: dict[str, Any] | None) -> dict[str, Any] | None:
    """The user's ``{key: value | [values]}`` as conditions on the documents' own metadata."""
    if not filters:
        return None
    conditions = []
    for key, value in sorted(filters.items()):
        field = f"meta.user.{key}"
        if isinstance(value, list):
            conditions.append({"field": field, "operator": "in", "value": value})
        else:
            conditions.append({"field": field, "operator": "==", "value": value})
    return {"operator": "AND", "conditions": conditions}


def collections_filter(collection_ids: list[str] | None) -> dict[str, Any] | None:
    if collection_ids is None:
        return None
    return {"field": "meta.collection_id", "operator": "in", "value": sorted(set(collection_ids))}


# ---------------------------------------------------------------- lookups by a caller (submission and reads)


def collection_for(catalog, identity: Identity, ref: str, field: str = "collection"):
    """The collection ``ref`` (id or name) as the caller sees it; ``NotFound`` when they may not read it."""
    try:
        view = catalog.collection(ref, identity.user_id, identity.is_admin)
    except AmbiguousCollection:
        raise BadUserInput.for_fields({field: f"several collections are named '{ref}'; use its id"}) from None
    if view is None:
        raise NotFound(f"Collection '{ref}' not found.", {"resource": "collection"})
    return view


def writable_collection(catalog, identity: Identity, ref: str | None):
    """Where the caller's new document goes: ``ref``, or their default collection."""
    view = catalog.default_collection(identity.user_id) if ref is None else collection_for(catalog, identity, ref)
    if not view.writable:
        raise Forbidden(f"You may not add documents to collection '{view.name}'.")
    return view


def readable_document(catalog, identity: Identity, document_id: str):
    """The document's catalog row; ``NotFound`` when it does not exist or the caller may not read it."""
    row = catalog.get(document_id) if isinstance(document_id, str) and len(document_id) <= 64 else None
    if row is None or not Scope.of(identity, catalog).can_read(row.owner_id, row.collection_id):
        raise NotFound("Document not found.", {"resource": "document"})
    return row


def collection_ids_for(catalog, identity: Identity, refs: list[str] | None) -> list[str] | None:
    """The ids of the collections a search names (each must be readable), or None for the default."""
    if refs is None:
        return None
    return [collection_for(catalog, identity, ref, "collections").id for ref in refs]
