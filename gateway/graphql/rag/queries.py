"""Queries of the rag domain: thin calls to the rag service, which enforces access itself."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from gateway.context import Context
from gateway.graphql.permissions import requires
from gateway.graphql.rag.types import (Answer, Collection, Document, DocumentConnection, IngestionJob, SearchHit,
                                       SearchMode)
from schema.permissions import Permission
from schema.rag import DEFAULT_TOP_K

SEARCH_TIMEOUT = 30.0


@strawberry.type
class RagQuery:
    @strawberry.field(extensions=[requires(Permission.READ_RAG)], description="Collections I may read.")
    async def collections(self, info: Info[Context, None]) -> list[Collection]:
        return [Collection.from_payload(c) for c in await info.context.call("rag", "collections")]

    @strawberry.field(extensions=[requires(Permission.READ_RAG)],
                      description="Collections I am invited to, with the role offered (not yet readable).")
    async def collection_invitations(self, info: Info[Context, None]) -> list[Collection]:
        return [Collection.from_payload(c) for c in await info.context.call("rag", "collection_invitations")]

    @strawberry.field(extensions=[requires(Permission.READ_RAG)],
                      description="Documents I may read, newest first; in one collection if given.")
    async def documents(self, info: Info[Context, None], collection: str | None = None, first: int = 20,
                        after: str | None = None) -> DocumentConnection:
        page = await info.context.call("rag", "documents", collection=collection, first=first, after=after)
        return DocumentConnection.from_payload(page)

    @strawberry.field(extensions=[requires(Permission.READ_RAG)], description="A document I may read.")
    async def document(self, info: Info[Context, None], id: strawberry.ID) -> Document:
        return Document.from_payload(await info.context.call("rag", "document", str(id)))

    @strawberry.field(extensions=[requires(Permission.READ_RAG)], description="One of my ingestion jobs.")
    async def ingestion_job(self, info: Info[Context, None], id: strawberry.ID) -> IngestionJob:
        return IngestionJob.from_payload(await info.context.call("rag", "job", str(id)))

    @strawberry.field(extensions=[requires(Permission.READ_RAG)],
                      description="Passages of documents I may read. topK: 1 to 50; filters: {metadataKey: "
                                  "value or [values]}.")
    async def search(self, info: Info[Context, None], query: str, collections: list[str] | None = None,
                     top_k: int = DEFAULT_TOP_K, filters: JSON | None = None,
                     mode: SearchMode = SearchMode.HYBRID) -> list[SearchHit]:
        hits = await info.context.call("rag", "search", query=query, collections=collections, top_k=top_k,
                                       filters=filters, mode=mode.value, timeout=SEARCH_TIMEOUT)
        return [SearchHit.from_payload(h) for h in hits]

    @strawberry.field(extensions=[requires(Permission.READ_RAG)],
                      description="An answer from documents I may read, with citations; never an invented source.")
    async def ask(self, info: Info[Context, None], question: str, collections: list[str] | None = None,
                  top_k: int = DEFAULT_TOP_K) -> Answer:
        answer = await info.context.call("rag", "ask", question=question, collections=collections, top_k=top_k,
                                         timeout=info.context.settings.rpc_timeout + 60)
        return Answer.from_payload(answer)
