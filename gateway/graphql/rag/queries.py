"""Queries of the rag domain: each one operation of ``schema/rag.py`` (the service enforces access itself).
Arguments default to the input models' defaults (one set of defaults)."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from gateway.context import Context
from gateway.graphql.permissions import operation_field
from gateway.graphql.rag.types import (
    Answer,
    Collection,
    Document,
    DocumentConnection,
    IngestionJob,
    SearchHit,
)
from gateway.settings import GatewaySettings
from schema import rag

ANSWER_SECONDS = 60.0  # what an answer may take beyond a plain call: the LLM writing it


def ask_timeout(settings: GatewaySettings) -> float:
    return settings.rpc_timeout + ANSWER_SECONDS


@strawberry.type
class RagQuery:
    @operation_field(rag.COLLECTIONS)
    async def collections(self, info: Info[Context, None]) -> list[Collection]:
        return [Collection.from_pydantic(c) for c in await info.context.invoke(rag.COLLECTIONS)]

    @operation_field(rag.COLLECTION_INVITATIONS)
    async def collection_invitations(self, info: Info[Context, None]) -> list[Collection]:
        return [Collection.from_pydantic(c) for c in await info.context.invoke(rag.COLLECTION_INVITATIONS)]

    @operation_field(rag.DOCUMENTS)
    async def documents(
        self,
        info: Info[Context, None],
        collection: str | None = None,
        first: int = rag.DocumentsInput.model_fields["first"].default,
        after: str | None = None,
    ) -> DocumentConnection:
        page = await info.context.invoke(rag.DOCUMENTS, {"collection": collection, "first": first, "after": after})
        return DocumentConnection.from_pydantic(page)

    @operation_field(rag.DOCUMENT)
    async def document(self, info: Info[Context, None], id: strawberry.ID) -> Document:
        return Document.from_pydantic(await info.context.invoke(rag.DOCUMENT, {"document_id": id}))

    @operation_field(rag.JOB)
    async def ingestion_job(self, info: Info[Context, None], id: strawberry.ID) -> IngestionJob:
        return IngestionJob.from_pydantic(await info.context.invoke(rag.JOB, {"job_id": id}))

    @operation_field(rag.SEARCH)
    async def search(
        self,
        info: Info[Context, None],
        query: str,
        collections: list[str] | None = None,
        top_k: int = rag.SearchInput.model_fields["top_k"].default,
        filters: JSON | None = None,
        mode: rag.SearchMode = rag.SearchInput.model_fields["mode"].default,
    ) -> list[SearchHit]:
        hits = await info.context.invoke(
            rag.SEARCH, {"query": query, "collections": collections, "top_k": top_k, "filters": filters, "mode": mode}
        )
        return [SearchHit.from_pydantic(hit) for hit in hits]

    @operation_field(rag.ASK)
    async def ask(
        self,
        info: Info[Context, None],
        question: str,
        collections: list[str] | None = None,
        top_k: int = rag.AskInput.model_fields["top_k"].default,
    ) -> Answer:
        answer = await info.context.invoke(
            rag.ASK,
            {"question": question, "collections": collections, "top_k": top_k},
            timeout=ask_timeout(info.context.settings),
        )
        return Answer.from_pydantic(answer)
