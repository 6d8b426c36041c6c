"""`weft secrets rotate`: re-encrypt every sealed secret under a new key, in one transaction.

Sealed values: connection credentials, the org settings' client secrets and ai keys, and
notification signing secrets. OAuth2 authorizations in flight are dropped (they live minutes).
With the embedded key file, the new key is written beside it first and moved into place after
the commit, so a crash in between leaves both keys on disk, never data without its key.
"""

from __future__ import annotations

import base64
import copy
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.apps.connections import CONNECTIONS_PURPOSE
from weft.apps.org_settings import sealed_org_values
from weft.crypto import KEY_FILE, SecretBox
from weft.notifications.crypto import SIGNING_PURPOSE
from weft.settings import Settings
from weft.store.tables import Connection, NotificationSubscription, OAuthState, Org


@dataclass
class RotationCount:
    """How many sealed values were re-encrypted, by kind."""

    connections: int = 0
    org_secrets: int = 0
    webhook_secrets: int = 0


def new_key_material() -> str:
    """A fresh random key in the form WEFT_SECRET_KEY takes."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _connection_context(row: Connection) -> str:
    return f"connection:{row.org_id}:{row.environment}:{row.linked_account_pk}:{row.app_slug}"


async def reseal_everything(
    old_settings: Settings, new_settings: Settings, *, session: AsyncSession
) -> RotationCount:
    """Open every sealed value under the old deployment secret, seal it under the new one."""
    old = SecretBox.from_settings(old_settings, purpose=CONNECTIONS_PURPOSE)
    new = SecretBox.from_settings(new_settings, purpose=CONNECTIONS_PURPOSE)
    old_signing = SecretBox.from_settings(old_settings, purpose=SIGNING_PURPOSE)
    new_signing = SecretBox.from_settings(new_settings, purpose=SIGNING_PURPOSE)
    count = RotationCount()
    for row in await session.scalars(select(Connection)):
        context = _connection_context(row)
        row.credentials_sealed = new.seal(
            old.open(row.credentials_sealed, context=context), context=context
        )
        count.connections += 1
    for org in await session.scalars(select(Org)):
        found = sealed_org_values(org.settings)
        if not found:
            continue
        settings = copy.deepcopy(org.settings)
        for path, suffix in found:
            holder = settings
            for part in path[:-1]:
                holder = holder[part]
            context = f"org-setting:{org.id}:{suffix}"
            holder[path[-1]] = new.seal(
                old.open(holder[path[-1]], context=context), context=context
            )
            count.org_secrets += 1
        org.settings = settings
    for subscription in await session.scalars(select(NotificationSubscription)):
        context = subscription.id
        subscription.secret_sealed = new_signing.seal(
            old_signing.open(subscription.secret_sealed, context=context), context=context
        )
        count.webhook_secrets += 1
    await session.execute(delete(OAuthState))
    await session.flush()
    return count


def key_file(settings: Settings) -> Path | None:
    """The embedded key file in use, or None when WEFT_SECRET_KEY is set."""
    return None if settings.secret_key else settings.data_dir / KEY_FILE


def stage_key_file(path: Path, material: str) -> Path:
    """Write the new key beside the old one (mode 0600); `commit_key_file` moves it in."""
    staged = path.with_name(path.name + ".next")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(material)
    return staged


def commit_key_file(staged: Path, path: Path) -> None:
    """Put the staged key in place (atomic rename)."""
    os.replace(staged, path)
