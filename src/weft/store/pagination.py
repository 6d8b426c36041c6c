"""Refold-style page/limit pagination over any select, newest first.

`totalDocs` is exact up to COUNT_PAST_PAGE rows past the requested page's end; past that it is
a lower bound (`totalDocsExact: false`), so a list's cost does not grow with an account's
history: an account with 1M runs pays for counting the rows up to its page plus 1,000, not
a million. `hasNextPage` and `nextPage` stay right either way: a client that pages until
`hasNextPage` is false sees every row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
COUNT_PAST_PAGE = 1000


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows plus what Refold's envelope needs to describe it."""

    items: list[T]
    total: int
    page: int
    limit: int
    exact: bool = True  # False: `total` is a lower bound (there are more rows than counted)

    @property
    def total_pages(self) -> int:
        """Number of pages at this limit (at least 1, as Refold answers for an empty list)."""
        return max(1, -(-self.total // self.limit))


async def paginate(
    stmt: Select[tuple[T]], *, session: AsyncSession, page: int, limit: int, order_by: Any
) -> Page[T]:
    """Run `stmt` for page `page` (from 1) of `limit` rows, ordered by `order_by`."""
    offset = (page - 1) * limit
    most = offset + limit + COUNT_PAST_PAGE
    # Only a constant per row: the count reads the index, not each row's columns.
    counted = (
        stmt.order_by(None)
        .with_only_columns(literal_column("1"), maintain_column_froms=True)
        .limit(most)
    )
    total = await session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    rows = await session.scalars(stmt.order_by(*order_by).limit(limit).offset(offset))
    return Page(items=list(rows), total=total, page=page, limit=limit, exact=total < most)
