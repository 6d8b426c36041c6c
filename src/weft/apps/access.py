"""Using a connection: usable credentials (refreshed before expiry or on demand), disconnect."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from weft.apps.connections import (
    ConnectionInfo,
    delete_connection,
    mark_reauth_required,
    open_credentials,
    update_oauth_tokens,
)
from weft.apps.oauth import (
    REFRESH_MARGIN,
    NotConfigured,
    OAuthFailed,
    load_client,
    revoke,
    token_request,
    tokens_from,
)
from weft.clock import now
from weft.errors import WeftError
from weft.settings import Settings
from weft.store.db import Database
from weft.store.scope import Scope

log = logging.getLogger("weft.apps")


class ConnectionMissing(WeftError):
    status_code = 400
    error_code = "CONNECTION_REQUIRED"


@dataclass(frozen=True)
class Credentials:
    """An opened connection, ready to sign a request."""

    connection: ConnectionInfo
    values: dict[str, Any]


async def usable_credentials(
    scope: Scope,
    slug: str,
    *,
    db: Database,
    settings: Settings,
    outbound: Any,
    force_refresh: bool = False,
) -> Credentials:
    """The account's credentials for `slug`; OAuth2 tokens refreshed when due or forced."""
    async with db.reading() as session:
        opened = await open_credentials(scope, slug, session=session, settings=settings)
    if opened is None:
        raise ConnectionMissing(f"The linked account has not connected {slug}")
    info, values = opened
    if info.reauth_required:
        raise ConnectionMissing(f"The {slug} connection expired; the user must connect again")
    if info.auth_type != "oauth2":
        return Credentials(info, values)
    due = info.expires_at is not None and info.expires_at - REFRESH_MARGIN <= now()
    if not (force_refresh or due):
        return Credentials(info, values)
    return await _refresh(scope, slug, info, values, db=db, settings=settings, outbound=outbound)


async def _refresh(
    scope: Scope,
    slug: str,
    info: ConnectionInfo,
    values: dict[str, Any],
    *,
    db: Database,
    settings: Settings,
    outbound: Any,
) -> Credentials:
    async with db.reading() as session:
        client = await load_client(scope.org_id, slug, session=session, settings=settings)
    refresh_token = values.get("refresh_token")
    if not refresh_token:
        await _expire(scope, slug, db)
        raise ConnectionMissing(f"The {slug} token expired and cannot be refreshed")
    try:
        answer = await token_request(
            client, {"grant_type": "refresh_token", "refresh_token": refresh_token}, outbound
        )
    except OAuthFailed as error:
        # Another run may have refreshed (and rotated the refresh token) meanwhile: use its.
        async with db.reading() as session:
            again = await open_credentials(scope, slug, session=session, settings=settings)
        if again is not None and again[0].updated_at > info.updated_at:
            return Credentials(*again)
        log.warning("refresh of %s for account %s refused: %s", slug, scope.account_id, error)
        await _expire(scope, slug, db)
        raise ConnectionMissing(
            f"The {slug} connection expired (refresh refused); the user must connect again"
        ) from error
    tokens, expires_at = tokens_from(answer, client.auth, values)
    async with db.transaction() as session:
        await update_oauth_tokens(
            scope, slug, tokens, expires_at=expires_at, session=session, settings=settings
        )
        refreshed = await open_credentials(scope, slug, session=session, settings=settings)
    assert refreshed is not None
    return Credentials(*refreshed)


async def _expire(scope: Scope, slug: str, db: Database) -> None:
    async with db.transaction() as session:
        await mark_reauth_required(scope, slug, session=session)


async def disconnect(
    scope: Scope, slug: str, *, db: Database, settings: Settings, outbound: Any
) -> bool | None:
    """Delete the connection, then revoke OAuth2 tokens; None when there was none.

    Answers whether the provider confirmed the revocation (False when it has no revoke URL
    or refused: the connection is gone from Weft either way).
    """
    async with db.transaction() as session:
        deleted = await delete_connection(scope, slug, session=session, settings=settings)
        if deleted is None:
            return None
        client = None
        if deleted["auth_type"] == "oauth2":
            try:
                client = await load_client(scope.org_id, slug, session=session, settings=settings)
            except (NotConfigured, WeftError):
                client = None
    if client is None:
        return False
    return await revoke(client, deleted, outbound)
