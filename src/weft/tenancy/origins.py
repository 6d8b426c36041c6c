"""Which orgs allow a browser origin (the `allowed_origins` setting; CORS preflights ask)."""

from __future__ import annotations

import json

from sqlalchemy import exists, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from weft.store.tables import Org

# One query, in the database: the list is JSON inside `orgs.settings`.
_SQLITE_ANY = text(
    "EXISTS (SELECT 1 FROM json_each(orgs.settings, '$.allowed_origins') "
    "WHERE json_each.value = :origin)"
)
_POSTGRES_ANY = text("orgs.settings -> 'allowed_origins' @> CAST(:origin AS jsonb)")


async def any_org_allows_origin(origin: str, *, session: AsyncSession) -> bool:
    """Whether at least one org lists `origin` in its allowed_origins."""
    if session.bind.dialect.name == "postgresql":
        condition = _POSTGRES_ANY.bindparams(origin=json.dumps([origin]))
    else:
        condition = _SQLITE_ANY.bindparams(origin=origin)
    return bool(await session.scalar(select(exists().select_from(Org).where(condition))))
