"""GraphQL types of the rag domain, derived from the RPC models in schema/rag.py
(one declaration per field: names, types, defaults and descriptions come from the models).

Only what GraphQL says differently is written here: the enums' GraphQL names,
``ID`` where the model has ``str``, ``JSON`` where it has a dict, and the
connection's ``nodes``/``pageInfo`` (the RPC page has ``items``/``end_cursor``).
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.experimental.pydantic import input as pydantic_input
from strawberry.experimental.pydantic import type as pydantic_type
from strawberry.scalars import JSON
from strawberry.types.base import get_object_definition

from gateway.graphql.pagination import PageInfo
from schema import rag
from schema.errors import AgentHubError

# strawberry.enum registers the GraphQL name on the model's own enum, so derived fields and resolver
# arguments use the schema/rag.py enums themselves.
strawberry.enum(
    rag.Visibility,
    name="CollectionVisibility",
    description="PRIVATE: its owner and members; PUBLIC: every signed-in user reads it.",
)
strawberry.enum(
    rag.MemberRole, name="CollectionMemberRole", description="VIEWER reads; EDITOR also adds and deletes documents."
)
strawberry.enum(rag.AccessRole, name="CollectionAccess", description="What I may do in a collection.")
strawberry.enum(rag.DocumentStatus, name="DocumentStatus")
strawberry.enum(rag.JobStatus, name="IngestionStatus")
strawberry.enum(
    rag.SearchMode, name="SearchMode", description="HYBRID fuses BM25 and dense retrieval by reciprocal rank fusion."
)
strawberry.enum(
    rag.AnswerMode,
    name="AnswerMode",
    description="GENERATIVE: written by the configured LLM; EXTRACTIVE: quoted passages.",
)


@pydantic_type(model=rag.CollectionMember, all_fields=True)
class CollectionMember:
    user_id: strawberry.ID


@pydantic_type(
    model=rag.Collection, all_fields=True, description="A set of documents with one owner and one visibility."
)
class Collection:
    id: strawberry.ID
    owner: strawberry.ID


@pydantic_type(model=rag.Document, all_fields=True, description="A document I may read.")
class Document:
    id: strawberry.ID
    collection: strawberry.ID
    owner: strawberry.ID
    metadata: JSON


@pydantic_type(model=rag.DocumentPage)
class DocumentConnection:
    nodes: list[Document]
    page_info: PageInfo
    total_count: strawberry.auto

    @staticmethod
    def from_pydantic(page: rag.DocumentPage, extra: dict[str, Any] | None = None) -> DocumentConnection:
        return DocumentConnection(
            nodes=[Document.from_pydantic(d) for d in page.items],
            page_info=PageInfo(end_cursor=page.end_cursor, has_next_page=page.has_next_page),
            total_count=page.total_count,
        )


@pydantic_type(
    model=rag.Job,
    all_fields=True,
    description="An ingestion job: QUEUED, RUNNING, then DONE, FAILED or CANCELLED; progress from 0 to 1.",
)
class IngestionJob:
    id: strawberry.ID
    document_id: strawberry.ID | None


@strawberry.type(description="One uploaded file: its job, or a BAD_USER_INPUT error at this file's `job`.")
class FileIngestion:
    filename: str
    accepted: strawberry.Private[IngestionJob | None]
    rejected: strawberry.Private[AgentHubError | None]

    @strawberry.field
    def job(self) -> IngestionJob | None:
        if self.rejected is not None:
            raise self.rejected
        return self.accepted


@pydantic_input(model=rag.IngestTextInput, all_fields=True)
class IngestTextInput:
    metadata: JSON | None


# The published SDL has these as optional without a default (an omitted one is None all the same);
# the model's None default would print "= null". Kept so the schema stays as published.
for _field in get_object_definition(IngestTextInput, strict=True).fields:
    if _field.python_name in ("collection", "metadata"):
        _field.default_value = strawberry.UNSET


@pydantic_type(model=rag.SearchHit, all_fields=True)
class SearchHit:
    document_id: strawberry.ID


@pydantic_type(
    model=rag.Citation, all_fields=True, description="A retrieved passage; [n] in the answer is the n-th citation."
)
class Citation:
    document_id: strawberry.ID


@pydantic_type(model=rag.Answer, all_fields=True)
class Answer:
    pass
