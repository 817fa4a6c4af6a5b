"""Cursor pagination shared by every list in the API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry


@strawberry.type(description="Where a page ends and whether another follows.")
class PageInfo:
    end_cursor: str | None
    has_next_page: bool

    @classmethod
    def from_page(cls, page: Mapping[str, Any] | Any) -> PageInfo:
        """From a page model (``schema.auth.Page``, ``schema.rag.DocumentPage``…) or its dump."""
        if not isinstance(page, Mapping):
            return cls(end_cursor=page.end_cursor, has_next_page=bool(page.has_next_page))
        return cls(end_cursor=page.get("end_cursor"), has_next_page=bool(page.get("has_next_page")))
