"""Using a connection: usable credentials (refreshed before expiry or on demand), disconnect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from weft.apps.connections import (
    ConnectionInfo,
    ConnectionMissing,
    delete_connection,
    open_credentials,
)
from weft.apps.oauth import NotConfigured, load_client, revoke
from weft.apps.refresh import is_due, refresh_once
from weft.errors import WeftError
from weft.settings import Settings
from weft.store.db import Database
from weft.store.scope import Scope


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
    if not (force_refresh or is_due(info)):
        return Credentials(info, values)
    fresh = await refresh_once(scope, slug, opened, db=db, settings=settings, outbound=outbound)
    return Credentials(*fresh)


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
