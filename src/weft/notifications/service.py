"""Notification webhooks as the API calls them: each call opens and owns one transaction."""

from __future__ import annotations

from collections.abc import Iterable

from weft.notifications import subscriptions
from weft.notifications.crypto import SecretBox
from weft.store.db import Database
from weft.store.pagination import Page
from weft.store.scope import OrgScope
from weft.store.tables import NotificationSubscription


async def create_subscription(
    db: Database,
    org: OrgScope,
    *,
    url: str,
    events: Iterable[str],
    is_enabled: bool,
    box: SecretBox,
) -> subscriptions.CreatedSubscription:
    """A new webhook of the org for `events`, with its signing secret (shown once)."""
    async with db.transaction() as session:
        return await subscriptions.create_subscription(
            org, url=url, events=events, is_enabled=is_enabled, box=box, session=session
        )


async def list_subscriptions(
    db: Database, org: OrgScope, *, page: int, limit: int
) -> Page[NotificationSubscription]:
    """One page of the org's webhooks in this environment, newest first."""
    async with db.reading() as session:
        return await subscriptions.list_subscriptions(org, page=page, limit=limit, session=session)


async def delete_subscription(db: Database, org: OrgScope, subscription_id: str) -> None:
    """Delete one of the org's webhooks and its undelivered notifications (404: not its own)."""
    async with db.transaction() as session:
        await subscriptions.delete_subscription(org, subscription_id, session=session)
