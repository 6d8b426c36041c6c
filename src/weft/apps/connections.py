"""Connections: a linked account's credentials for an app, sealed with AES-GCM at rest.

Every function takes the linked account's `Scope` first. Only `open_credentials` ever returns
a secret, and only to the node runtime; everything an API shows is a `ConnectionInfo`.
Creating, deleting and expiring a connection queue the org's `Connection ...` notifications in
the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.apps.catalog import resolve_definition
from weft.apps.model import AppDefinition
from weft.clock import isoformat, now
from weft.crypto import SecretBox, SecretUnreadable
from weft.errors import InvalidInput, WeftError
from weft.ids import new_id
from weft.notifications.events import CONNECTION_CREATED, CONNECTION_DELETED, CONNECTION_EXPIRED
from weft.notifications.outbox import enqueue_event_notifications
from weft.settings import Settings
from weft.store.scope import Scope, scope_columns, scoped_select
from weft.store.tables import Connection

CONNECTED = "connected"
REAUTH_REQUIRED = "reauth_required"
MAX_FIELD_LENGTH = 8192
# The HKDF label of connection secrets (and the org secrets apps use): a key of their own.
CONNECTIONS_PURPOSE = b"weft app connection secrets v1"


@dataclass(frozen=True)
class ConnectionInfo:
    """What may be shown about a connection: never a secret."""

    app_slug: str
    auth_type: str
    status: str
    identifier: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None

    @property
    def reauth_required(self) -> bool:
        """Whether the user must connect again (a refresh was refused)."""
        return self.status == REAUTH_REQUIRED

    def as_connected_account(self) -> dict[str, Any]:
        """Refold's `connected_accounts[]` item."""
        return {
            "identifier": self.identifier,
            "connectedAt": isoformat(self.created_at),
            "status": "EXPIRED" if self.reauth_required else "ACTIVE",
            "auth_type": self.auth_type,
        }


def _info(row: Connection) -> ConnectionInfo:
    return ConnectionInfo(
        app_slug=row.app_slug,
        auth_type=row.auth_type,
        status=row.status,
        identifier=row.identifier,
        created_at=row.created_at,
        updated_at=row.updated_at,
        expires_at=row.expires_at,
    )


def secret_box(settings: Settings) -> SecretBox:
    """The box that seals connection secrets under `WEFT_SECRET_KEY` (or the data-dir key)."""
    return SecretBox.from_settings(settings, purpose=CONNECTIONS_PURPOSE)


def sealing_context(scope: Scope, slug: str) -> str:
    """What a connection's ciphertext is bound to: it opens for no other account or app."""
    return f"connection:{scope.org_id}:{scope.environment}:{scope.linked_account_pk}:{slug}"


def seal_credentials(box: SecretBox, scope: Scope, slug: str, credentials: dict[str, Any]) -> str:
    """The stored form of a connection's credentials."""
    return box.seal(json.dumps(credentials), context=sealing_context(scope, slug))


def _find(scope: Scope, slug: str) -> Any:
    return scoped_select(Connection, scope).where(Connection.app_slug == slug)


def check_keybased_credentials(
    definition: AppDefinition, credentials: Any
) -> tuple[dict[str, str], str | None]:
    """The credentials a key-based form accepts (400 naming a missing or unknown field)."""
    if definition.auth_type != "keybased":
        raise InvalidInput(
            f"App {definition.slug} connects with {definition.auth_type}, not keybased",
            error_code="INVALID_AUTH_TYPE",
        )
    if not isinstance(credentials, dict):
        raise InvalidInput("credentials must be an object of the app's fields")
    known = {field.name: field for field in definition.form_fields}
    unknown = sorted(set(credentials) - set(known))
    if unknown:
        raise InvalidInput(f"Unknown credential fields for {definition.slug}: {unknown}")
    accepted: dict[str, str] = {}
    for name, field in known.items():
        value = credentials.get(name)
        if (value is None or value == "") and field.default is not None:
            value = field.default
        if value is None or value == "":
            if field.required:
                raise InvalidInput(f"Credential field {name} is required")
            continue
        if not isinstance(value, str) or len(value) > MAX_FIELD_LENGTH:
            raise InvalidInput(f"Credential field {name} must be a string (at most 8 KiB)")
        accepted[name] = value
    secret_names = [name for name, field in known.items() if field.secret and name in accepted]
    # Enough to tell two keys apart, never enough to use one.
    identifier = f"…{accepted[secret_names[0]][-4:]}" if secret_names else None
    return accepted, identifier


@dataclass(frozen=True)
class _Granted:
    """What a connection holds: its kind, its secrets (sealed when stored) and how it shows."""

    auth_type: str
    secrets: dict[str, Any]
    identifier: str | None
    expires_at: datetime | None


async def _upsert(
    scope: Scope, slug: str, granted: _Granted, *, session: AsyncSession, settings: Settings
) -> ConnectionInfo:
    row = (await session.scalars(_find(scope, slug))).first()
    moment = now()
    if row is None:
        row = Connection(id=new_id(), app_slug=slug, created_at=moment, **scope_columns(scope))
        session.add(row)
    else:
        row.created_at = moment  # a reconnect is a new connection for Refold's `connectedAt`
    row.auth_type = granted.auth_type
    row.status = CONNECTED
    row.identifier = granted.identifier
    row.credentials_sealed = seal_credentials(secret_box(settings), scope, slug, granted.secrets)
    row.expires_at = granted.expires_at
    row.updated_at = moment
    await session.flush()
    # Every (re)connection notifies, as Refold's does.
    await _notify(scope, slug, granted.auth_type, CONNECTION_CREATED, session=session)
    return _info(row)


async def save_keybased_connection(
    scope: Scope, slug: str, credentials: Any, *, session: AsyncSession, settings: Settings
) -> ConnectionInfo:
    """Connect `slug` with the typed credentials (replacing an earlier connection)."""
    definition = await resolve_definition(scope.org_id, slug, session=session)
    accepted, identifier = check_keybased_credentials(definition, credentials)
    granted = _Granted("keybased", {"fields": accepted}, identifier, expires_at=None)
    return await _upsert(scope, slug, granted, session=session, settings=settings)


async def save_oauth_connection(
    scope: Scope,
    slug: str,
    tokens: dict[str, Any],
    *,
    expires_at: datetime | None,
    identifier: str | None,
    session: AsyncSession,
    settings: Settings,
) -> ConnectionInfo:
    """Store the tokens an authorization code bought (replacing an earlier connection)."""
    granted = _Granted("oauth2", tokens, identifier, expires_at)
    return await _upsert(scope, slug, granted, session=session, settings=settings)


async def update_oauth_tokens(
    scope: Scope,
    slug: str,
    tokens: dict[str, Any],
    *,
    expires_at: datetime | None,
    session: AsyncSession,
    settings: Settings,
) -> None:
    """Replace a connection's tokens after a refresh (no notification: same connection)."""
    row = (await session.scalars(_find(scope, slug))).first()
    if row is None:
        return
    row.credentials_sealed = seal_credentials(secret_box(settings), scope, slug, tokens)
    row.expires_at = expires_at
    row.status = CONNECTED
    row.updated_at = now()
    row.refresh_lease_until = None
    await session.flush()


async def take_refresh_lease(
    scope: Scope, slug: str, until: datetime, *, session: AsyncSession
) -> bool:
    """Claim the right to refresh the connection's tokens until `until` (row-locked on
    PostgreSQL, under the single writer on SQLite); False while another process holds it."""
    row = (await session.scalars(_find(scope, slug).with_for_update())).first()
    if row is None:
        return False
    if row.refresh_lease_until is not None and row.refresh_lease_until > now():
        return False
    row.refresh_lease_until = until
    await session.flush()
    return True


async def refresh_lease_of(scope: Scope, slug: str, *, session: AsyncSession) -> datetime | None:
    """Until when another process holds the connection's refresh lease (None: nobody)."""
    stmt = _find(scope, slug).with_only_columns(Connection.refresh_lease_until)
    return await session.scalar(stmt)


async def release_refresh_lease(scope: Scope, slug: str, *, session: AsyncSession) -> None:
    """Give up the refresh lease without new tokens (the refresh was not needed or failed)."""
    row = (await session.scalars(_find(scope, slug).with_for_update())).first()
    if row is not None:
        row.refresh_lease_until = None
        await session.flush()


async def mark_reauth_required(
    scope: Scope, slug: str, *, session: AsyncSession, read_at: datetime | None = None
) -> bool:
    """Flag a connection whose refresh was refused; notifies `Connection Expired` once.

    With `read_at` (the `updated_at` of the tokens that were refused), a connection changed
    since (another process refreshed it, the user reconnected) is left as it is."""
    row = (await session.scalars(_find(scope, slug).with_for_update())).first()
    if row is None or row.status == REAUTH_REQUIRED:
        return False
    if read_at is not None and row.updated_at > read_at:
        return False
    row.status = REAUTH_REQUIRED
    row.updated_at = now()
    row.refresh_lease_until = None
    await session.flush()
    await _notify(scope, slug, row.auth_type, CONNECTION_EXPIRED, session=session)
    return True


async def get_connection(
    scope: Scope, slug: str, *, session: AsyncSession
) -> ConnectionInfo | None:
    """The linked account's connection to `slug`, or None."""
    row = (await session.scalars(_find(scope, slug))).first()
    return None if row is None else _info(row)


async def connection_status(scope: Scope, slug: str, *, session: AsyncSession) -> str | None:
    """`connected`, `reauth_required`, or None when the account has not connected `slug`."""
    info = await get_connection(scope, slug, session=session)
    return None if info is None else info.status


async def list_connections(scope: Scope, *, session: AsyncSession) -> dict[str, ConnectionInfo]:
    """Every connection of the linked account, by app slug."""
    rows = await session.scalars(scoped_select(Connection, scope))
    return {row.app_slug: _info(row) for row in rows}


class ConnectionMissing(WeftError):
    """The linked account has no usable connection: it must connect (again)."""

    status_code = 400
    error_code = "CONNECTION_REQUIRED"


class ConnectionUnreadable(WeftError):
    """Stored credentials this server's secret key does not open (the key was changed)."""

    status_code = 409
    error_code = "CONNECTION_UNREADABLE"


async def open_credentials(
    scope: Scope, slug: str, *, session: AsyncSession, settings: Settings
) -> tuple[ConnectionInfo, dict[str, Any]] | None:
    """The connection and its opened credentials (for the node runtime only), or None.

    ConnectionUnreadable when the secret key no longer opens them: the account reconnects."""
    row = (await session.scalars(_find(scope, slug))).first()
    if row is None:
        return None
    try:
        opened = secret_box(settings).open(
            row.credentials_sealed, context=sealing_context(scope, slug)
        )
    except SecretUnreadable:
        raise ConnectionUnreadable(
            f"The stored credentials for {slug} cannot be opened with this server's secret key "
            "(was WEFT_SECRET_KEY changed?): reconnect the app"
        ) from None
    return _info(row), json.loads(opened)


async def delete_connection(
    scope: Scope, slug: str, *, session: AsyncSession, settings: Settings
) -> dict[str, Any] | None:
    """Remove the connection; answers its opened credentials (to revoke after commit) or None.

    Credentials the key no longer opens are deleted all the same, with nothing to revoke."""
    row = (await session.scalars(_find(scope, slug))).first()
    if row is None:
        return None
    try:
        opened = await open_credentials(scope, slug, session=session, settings=settings)
    except ConnectionUnreadable:
        opened = None
    info, credentials = opened if opened is not None else (_info(row), {})
    await session.execute(
        delete(Connection).where(
            Connection.org_id == scope.org_id,
            Connection.environment == scope.environment,
            Connection.linked_account_pk == scope.linked_account_pk,
            Connection.app_slug == slug,
        )
    )
    await _notify(scope, slug, info.auth_type, CONNECTION_DELETED, session=session)
    return {"auth_type": info.auth_type, **credentials}


async def _notify(
    scope: Scope, slug: str, auth_type: str, event: str, *, session: AsyncSession
) -> None:
    await enqueue_event_notifications(
        session,
        org_id=scope.org_id,
        environment=scope.environment,
        event=event,
        payload={"linked_account_id": scope.account_id, "slug": slug, "auth_type": auth_type},
    )


async def connected_slugs(scope: Scope, *, session: AsyncSession) -> set[str]:
    """Slugs the account has a working connection to."""
    rows = await session.execute(
        select(Connection.app_slug).where(
            Connection.org_id == scope.org_id,
            Connection.environment == scope.environment,
            Connection.linked_account_pk == scope.linked_account_pk,
            Connection.status == CONNECTED,
        )
    )
    return {slug for (slug,) in rows}
