"""Refold-style page/limit pagination over any select, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows plus what Refold's envelope needs to describe it."""

    items: list[T]
    total: int
    page: int
    limit: int

    @property
    def total_pages(self) -> int:
        """Number of pages at this limit (at least 1, as Refold answers for an empty list)."""
        return max(1, -(-self.total // self.limit))


async def paginate(
    stmt: Select[tuple[T]], *, session: AsyncSession, page: int, limit: int, order_by: Any
) -> Page[T]:
    """Run `stmt` for page `page` (from 1) of `limit` rows, ordered by `order_by`."""
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = await session.scalars(stmt.order_by(*order_by).limit(limit).offset((page - 1) * limit))
    return Page(items=list(rows), total=total or 0, page=page, limit=limit)
