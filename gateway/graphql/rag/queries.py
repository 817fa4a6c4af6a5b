"""Queries of the rag domain: thin calls to the rag service, which enforces access itself."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from gateway.context import Context
from gateway.graphql.permissions import requires
from gateway.graphql.rag.types import (Answer, Collection, Document, DocumentConnection, IngestionJob, SearchHit,
                                       SearchMode)
from schema import rag
from schema.permissions import Permission

SEARCH_TIMEOUT = 30.0


@strawberry.type
class RagQuery:
    @strawberry.field(extensions=[requires(Permission.READ_RAG)], description="Collections I may read.")
    async def collections(self, info: Info[Context, None]) -> list[Collection]:
        return [Collection.from_pydantic(rag.Collection.model_validate(c))
                for c in await info.context.call("rag", "collections")]

    @strawberry.field(extensions=[requires(Permission.READ_RAG)],
                      description="Collections I am invited to, with the role offered (not yet readable).")
    async def collection_invitations(self, info: Info[Context, None]) -> list[Collection]:
        return [Collection.from_pydantic(rag.Collection.model_validate(c))
                for c in await info.context.call("rag", "collection_invitations")]

    @strawberry.field(extensions=[requires(Permission.READ_RAG)],
                      description="Documents I may read, newest first; in one collection if given.")
    async def documents(self, info: Info[Context, None], collection: str | None = None,
                        first: int = rag.DocumentsInput.model_fields["first"].default,
                        after: str | None = None) -> DocumentConnection:
        page = await info.context.call("rag", "documents", collection=collection, first=first, after=after)
        return DocumentConnection.from_pydantic(rag.DocumentPage.model_validate(page))

    @strawberry.field(extensions=[requires(Permission.READ_RAG)], description="A document I may read.")
    async def document(self, info: Info[Context, None], id: strawberry.ID) -> Document:
        return Document.from_pydantic(rag.Document.model_validate(await info.context.call("rag", "document", str(id))))

    @strawberry.field(extensions=[requires(Permission.READ_RAG)], description="One of my ingestion jobs.")
    async def ingestion_job(self, info: Info[Context, None], id: strawberry.ID) -> IngestionJob:
        return IngestionJob.from_pydantic(rag.Job.model_validate(await info.context.call("rag", "job", str(id))))

    @strawberry.field(extensions=[requires(Permission.READ_RAG)],
                      description="Passages of documents I may read. topK: 1 to 50; filters: {metadataKey: "
                                  "value or [values]}.")
    async def search(self, info: Info[Context, None], query: str, collections: list[str] | None = None,
                     top_k: int = rag.SearchInput.model_fields["top_k"].default, filters: JSON | None = None,
                     mode: SearchMode = rag.SearchInput.model_fields["mode"].default) -> list[SearchHit]:
        hits = await info.context.call("rag", "search", query=query, collections=collections, top_k=top_k,
                                       filters=filters, mode=mode.value, timeout=SEARCH_TIMEOUT)
        return [SearchHit.from_pydantic(rag.SearchHit.model_validate(h)) for h in hits]

    @strawberry.field(extensions=[requires(Permission.READ_RAG)],
                      description="An answer from documents I may read, with citations; never an invented source.")
    async def ask(self, info: Info[Context, None], question: str, collections: list[str] | None = None,
                  top_k: int = rag.AskInput.model_fields["top_k"].default) -> Answer:
        answer = await info.context.call("rag", "ask", question=question, collections=collections, top_k=top_k,
                                         timeout=info.context.settings.rpc_timeout + 60)
        return Answer.from_pydantic(rag.Answer.model_validate(answer))
