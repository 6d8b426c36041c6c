"""An org's outbound policy: the private destinations its workflows may reach (org settings).

Entries use the syntax of `WEFT_OUTBOUND_ALLOW` (`host`, `host:port`, `10.0.0.0/8`,
`10.0.0.0/8:443`, `[fd00::1]:8080`). Each must lie within what the operator lets orgs open,
`WEFT_OUTBOUND_ORG_ALLOW` (empty by default: no org may open anything). Only the operator can
therefore open Weft's own port, a loopback service or the cloud metadata address to an org.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import now
from weft.errors import InvalidInput
from weft.net.policy import OutboundPolicy, normalize_allow_entry
from weft.store.db import Database
from weft.store.tables import Org
from weft.tenancy.orgs import get_org

MAX_OUTBOUND_ENTRIES = 50
SETTING_KEY = "outbound_allow"
CEILING_SETTING = "WEFT_OUTBOUND_ORG_ALLOW"


def outbound_allow_from(settings: dict[str, Any] | None) -> list[str]:
    """The outbound entries held in an org's settings JSON (empty when unset)."""
    entries = (settings or {}).get(SETTING_KEY) or []
    return [entry for entry in entries if isinstance(entry, str)]


async def outbound_allow_of(org_id: str, *, session: AsyncSession) -> list[str]:
    """The org's own outbound entries, as stored."""
    settings = await session.scalar(select(Org.settings).where(Org.id == org_id))
    return outbound_allow_from(settings)


def checked_entries(entries: list[str], ceiling: OutboundPolicy) -> list[str]:
    """The entries normalised and de-duplicated; 400 for a malformed one or one the operator
    does not let orgs open."""
    if len(entries) > MAX_OUTBOUND_ENTRIES:
        raise InvalidInput(
            f"at most {MAX_OUTBOUND_ENTRIES} outbound entries", error_code="INVALID_OUTBOUND_ENTRY"
        )
    cleaned: list[str] = []
    for entry in entries:
        try:
            normal = normalize_allow_entry(entry)
        except ValueError as error:
            raise InvalidInput(str(error), error_code="INVALID_OUTBOUND_ENTRY") from None
        if not ceiling.covers(normal):
            raise InvalidInput(
                f"{normal!r} is outside what this server lets organizations open "
                f"({CEILING_SETTING}); ask its operator",
                error_code="OUTBOUND_NOT_PERMITTED",
            )
        cleaned.append(normal)
    return list(dict.fromkeys(cleaned))


async def set_outbound_allow(
    org_id: str, entries: list[str], ceiling: OutboundPolicy, *, session: AsyncSession
) -> list[str]:
    """Replace the org's outbound entries (checked against `ceiling`); returns them."""
    cleaned = checked_entries(entries, ceiling)
    org = await get_org(org_id, session=session)
    # A new dict: SQLAlchemy does not see in-place changes to a JSON column.
    org.settings = {**(org.settings or {}), SETTING_KEY: cleaned}
    org.updated_at = now()
    await session.flush()
    return cleaned


async def read_outbound_allow(db: Database, org_id: str) -> list[str]:
    """The org's outbound entries (a read transaction of its own)."""
    async with db.reading() as session:
        return await outbound_allow_of(org_id, session=session)


async def update_outbound_allow(
    db: Database, org_id: str, entries: list[str] | None, ceiling: OutboundPolicy
) -> list[str]:
    """Replace the org's outbound entries unless `entries` is None; returns what is stored."""
    if entries is None:
        return await read_outbound_allow(db, org_id)
    async with db.transaction() as session:
        return await set_outbound_allow(org_id, entries, ceiling, session=session)
