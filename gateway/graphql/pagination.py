"""Cursor pagination shared by every list in the API."""

from __future__ import annotations

import strawberry


@strawberry.type(description="Where a page ends and whether another follows.")
class PageInfo:
    end_cursor: str | None
    has_next_page: bool

    @classmethod
    def from_page(cls, page: dict) -> "PageInfo":
        return cls(end_cursor=page.get("end_cursor"), has_next_page=bool(page.get("has_next_page")))
