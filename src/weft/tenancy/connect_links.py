"""Links to the hosted Connect portal: minted for one linked account, short-lived, single use.

The link in clear is shown once (`hosted_url`); only its SHA-256 hash is stored. Opening the link
exchanges it, once, for a page session: an ordinary session token of the same linked account, so
the page acts through the same routes (and the same service functions) as the frontend SDK.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import now
from weft.errors import InvalidInput
from weft.ids import new_id
from weft.store.scope import Scope, account_scope
from weft.store.tables import ConnectLink, LinkedAccount
from weft.tenancy import orgs, tokens
from weft.tenancy.secrets import hash_secret, same_hash

LINK_PREFIX = "wcl_"
PORTAL_PATH = "/connect"  # the page a link opens (web/portal.py)
MIN_TTL_S = 60
MAX_TTL_S = 3600


@dataclass(frozen=True)
class MintedLink:
    """A link's secret in clear (shown once) and when it stops working."""

    secret: str
    expires_at: datetime


async def mint_link(
    scope: Scope,
    *,
    theme: dict[str, Any],
    apps: list[str] | None,
    expires_in: int,
    session: AsyncSession,
) -> MintedLink:
    """A new single-use link for the account `scope` acts as."""
    if not MIN_TTL_S <= expires_in <= MAX_TTL_S:
        raise InvalidInput(
            f"expires_in must be between {MIN_TTL_S} and {MAX_TTL_S} seconds",
            error_code="INVALID_EXPIRES_IN",
        )
    raw = LINK_PREFIX + secrets.token_urlsafe(32)
    moment = now()
    expires_at = moment + timedelta(seconds=expires_in)
    session.add(
        ConnectLink(
            id=new_id(),
            org_id=scope.org_id,
            environment=scope.environment,
            linked_account_pk=scope.linked_account_pk,
            link_hash=hash_secret(raw),
            theme=theme,
            apps=apps,
            expires_at=expires_at,
            created_at=moment,
        )
    )
    await session.flush()
    return MintedLink(secret=raw, expires_at=expires_at)


@dataclass(frozen=True)
class Redeemed:
    """What opening a link gave: a page session, or why not (and the org's origins, if known)."""

    problem: str | None  # "unknown", "expired" or "used"; None when it worked
    origins: list[str]
    scope: Scope | None = None
    token: tokens.IssuedToken | None = None
    theme: dict[str, Any] | None = None
    apps: list[str] | None = None


async def redeem_link(raw: str, *, session_ttl_s: int, session: AsyncSession) -> Redeemed:
    """Exchange a link for a session token of its account; marks it used (atomically)."""
    row = (
        await session.execute(
            select(ConnectLink, LinkedAccount)
            .join(LinkedAccount, LinkedAccount.id == ConnectLink.linked_account_pk)
            .where(ConnectLink.link_hash == hash_secret(raw))
        )
    ).first()
    if row is None or not same_hash(row[0].link_hash, raw):
        return Redeemed(problem="unknown", origins=[])
    link, account = row
    origins = await orgs.allowed_origins_of(link.org_id, session=session)
    moment = now()
    if link.used_at is not None:
        return Redeemed(problem="used", origins=origins)
    if link.expires_at <= moment:
        return Redeemed(problem="expired", origins=origins)
    # Only one of two racing requests updates the row; the other sees the link used.
    claimed = await session.execute(
        update(ConnectLink)
        .where(ConnectLink.id == link.id, ConnectLink.used_at.is_(None))
        .values(used_at=moment)
    )
    if int(claimed.rowcount or 0) != 1:  # type: ignore[attr-defined]
        return Redeemed(problem="used", origins=origins)
    scope = account_scope(account)
    issued = await tokens.issue_session_token(
        scope,
        account.account_id,
        expires_in=session_ttl_s,
        max_expires_in=session_ttl_s,
        session=session,
    )
    return Redeemed(
        problem=None,
        origins=origins,
        scope=scope,
        token=issued,
        theme=dict(link.theme or {}),
        apps=list(link.apps) if link.apps is not None else None,
    )
