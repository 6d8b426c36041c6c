"""Which orgs allow a browser origin (the `allowed_origins` setting; CORS preflights ask)."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.store.dialects import dialect_of
from weft.store.tables import Org


async def any_org_allows_origin(origin: str, *, session: AsyncSession) -> bool:
    """Whether at least one org lists `origin` in its allowed_origins."""
    # One query, in the database: the list is JSON inside `orgs.settings`.
    condition = dialect_of(session).json_list_contains("orgs.settings", "allowed_origins", origin)
    return bool(await session.scalar(select(exists().select_from(Org).where(condition))))
