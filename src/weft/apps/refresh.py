"""Refreshing a connection's OAuth2 tokens once, however many processes need them at once.

Providers that rotate refresh tokens accept each one once: two processes refreshing together
leave one of them refused, and a refused refresh used to end the connection. So a process
refreshes only under the connection's refresh lease (a column, taken in a row-locked write);
the others wait for the lease to end and read the tokens it stored. A refusal is an expiry only
when nobody changed the tokens since they were read.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from weft.apps.connections import (
    ConnectionInfo,
    ConnectionMissing,
    mark_reauth_required,
    open_credentials,
    refresh_lease_of,
    release_refresh_lease,
    take_refresh_lease,
    update_oauth_tokens,
)
from weft.apps.oauth import REFRESH_MARGIN, OAuthFailed, load_client, token_request, tokens_from
from weft.clock import now
from weft.settings import Settings
from weft.store.db import Database
from weft.store.scope import Scope

log = logging.getLogger("weft.apps")

# The token call's own bound, and the lease around it: a process that dies while refreshing
# holds the others back this long at most.
REFRESH_TIMEOUT_S = 20.0
LEASE = timedelta(seconds=REFRESH_TIMEOUT_S * 2)
# How often a waiting process looks again (doubling up to the last).
WAIT_STEPS_S = (0.02, 0.05, 0.1, 0.2, 0.5)

Opened = tuple[ConnectionInfo, dict[str, Any]]


def is_due(info: ConnectionInfo) -> bool:
    """Whether the access token expires within the margin (so a call must not start with it)."""
    return info.expires_at is not None and info.expires_at - REFRESH_MARGIN <= now()


def _newer(opened: Opened | None, read_at: datetime) -> bool:
    return opened is not None and opened[0].updated_at > read_at


async def refresh_once(
    scope: Scope,
    slug: str,
    read: Opened,
    *,
    db: Database,
    settings: Settings,
    outbound: Any,
) -> Opened:
    """Fresh credentials for the connection read as `read` (its tokens due or refused).

    Answers another process's tokens when they are newer than `read`; otherwise refreshes
    under the lease. None of the credentials returned is older than `read`."""
    read_at = read[0].updated_at
    waits = iter(WAIT_STEPS_S)
    pause = next(waits)
    while True:
        async with db.transaction() as session:
            leased = await take_refresh_lease(scope, slug, now() + LEASE, session=session)
            current = await open_credentials(scope, slug, session=session, settings=settings)
            if current is None:
                raise ConnectionMissing(f"The linked account has not connected {slug}")
            if current[0].reauth_required:
                raise ConnectionMissing(
                    f"The {slug} connection expired; the user must connect again"
                )
            if _newer(current, read_at):
                if leased:
                    await release_refresh_lease(scope, slug, session=session)
                return current
        if leased:
            return await refresh_holding_lease(
                scope, slug, current, db=db, settings=settings, outbound=outbound
            )
        # Wait with reads only (on SQLite a write takes the one write lock): until the holder
        # stored new tokens, or its lease ended without them.
        while True:
            await asyncio.sleep(pause)
            pause = next(waits, pause)
            async with db.reading() as session:
                held = await refresh_lease_of(scope, slug, session=session)
            if held is None or held <= now():
                break


async def refresh_holding_lease(
    scope: Scope, slug: str, read: Opened, *, db: Database, settings: Settings, outbound: Any
) -> Opened:
    """Spend the refresh token of `read` (the caller holds the lease). Should the lease have
    lapsed and another process refreshed meanwhile, the provider's refusal answers that
    process's tokens instead of ending the connection."""
    info, values = read
    try:
        async with db.reading() as session:
            client = await load_client(scope.org_id, slug, session=session, settings=settings)
        refresh_token = values.get("refresh_token")
        if not refresh_token:
            raise OAuthFailed("no refresh token")
        answer = await token_request(
            client,
            {"grant_type": "refresh_token", "refresh_token": refresh_token},
            outbound,
            timeout_s=REFRESH_TIMEOUT_S,
        )
    except OAuthFailed as error:
        async with db.transaction() as session:
            expired = await mark_reauth_required(
                scope, slug, session=session, read_at=info.updated_at
            )
            if not expired:  # changed meanwhile (our lease had lapsed): use what is there
                await release_refresh_lease(scope, slug, session=session)
                again = await open_credentials(scope, slug, session=session, settings=settings)
                if again is not None and _newer(again, info.updated_at):
                    return again
        log.warning("refresh of %s for account %s refused: %s", slug, scope.account_id, error)
        raise ConnectionMissing(
            f"The {slug} connection expired (refresh refused); the user must connect again"
        ) from error
    except BaseException:
        async with db.transaction() as session:
            await release_refresh_lease(scope, slug, session=session)
        raise
    tokens, expires_at = tokens_from(answer, client.auth, values)
    async with db.transaction() as session:
        await update_oauth_tokens(
            scope, slug, tokens, expires_at=expires_at, session=session, settings=settings
        )
        refreshed = await open_credentials(scope, slug, session=session, settings=settings)
    if refreshed is None:  # disconnected while refreshing
        raise ConnectionMissing(f"The {slug} connection was removed; the user must connect again")
    return refreshed
