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

from schema.models import Identity


@dataclass(frozen=True)
class Scope:
    user_id: str
    admin: bool
    collection_ids: frozenset[str]  # readable collections (empty for admins: they need none)

    @classmethod
    def of(cls, identity: Identity, catalog) -> "Scope":
        if identity.is_admin:
            return cls(identity.user_id, True, frozenset())
        return cls(identity.user_id, False, frozenset(catalog.readable_collection_ids(identity.user_id)))

    @classmethod
    def for_search(cls, identity: Identity, catalog, named: list[str] | None = None) -> "Scope":
        """What search, ask and agent runs read: the collections searched by default
        (``Catalog.searched_collection_ids``) plus the ones the caller named, already checked readable."""
        if identity.is_admin:
            return cls(identity.user_id, True, frozenset())
        return cls(identity.user_id, False,
                   frozenset(catalog.searched_collection_ids(identity.user_id)) | frozenset(named or ()))

    def can_read(self, owner_id: str, collection_id: str) -> bool:
        return self.admin or owner_id == self.user_id or collection_id in self.collection_ids

    def access_filter(self) -> dict[str, Any] | None:
        if self.admin:
            return None
        return {"operator": "OR", "conditions": [
            {"field": "meta.owner_id", "operator": "==", "value": self.user_id},
            {"field": "meta.collection_id", "operator": "in", "value": sorted(self.collection_ids)},
        ]}

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
