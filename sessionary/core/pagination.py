"""Offset pagination shared by every list endpoint: ``limit`` 1-100 (default 50), ``offset``.

``offset`` is at most 2**31-1 (422 beyond): every list is keyed by a 32-bit id or is smaller,
so no list can skip more rows, and a larger value would reach the database as one it cannot
bind (SQLite's 64-bit limit, PostgreSQL's ``bigint``) and fail there as a 5xx.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select

from sessionary.core.inputs import INT32_MAX

T = TypeVar("T")
Statement = TypeVar("Statement", bound=Select[Any])

MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    offset: int

    def window(self, statement: Statement) -> Statement:
        """``statement`` cut to this page plus one row: the extra one tells :func:`page_of`
        whether more follow. ``statement`` must be ordered (a stable page needs it)."""
        return statement.offset(self.offset).limit(self.limit + 1)


def _page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1-100).")] = 50,
    offset: Annotated[int, Query(ge=0, le=INT32_MAX, description="Items to skip.")] = 0,
) -> PageRequest:
    return PageRequest(limit, offset)


PageParams = Annotated[PageRequest, Depends(_page_request)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    next_offset: int | None


def page_of(rows: Sequence[T], page: PageRequest) -> Page[T]:
    """Build a page from up to ``limit + 1`` rows (the extra one says whether more follow)."""
    more = len(rows) > page.limit
    return Page[T](
        items=list(rows[: page.limit]),
        limit=page.limit,
        offset=page.offset,
        next_offset=page.offset + page.limit if more else None,
    )
