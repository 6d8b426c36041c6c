"""Notification subscriptions: an org's webhook URLs, per environment, with signing secrets."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from yarl import URL

from weft.clock import now
from weft.errors import InvalidInput, NotFound
from weft.ids import new_id
from weft.notifications.crypto import SecretBox, new_signing_secret
from weft.notifications.events import EVENTS, canonical_event
from weft.store.brief_cache import BriefCache
from weft.store.db import Database
from weft.store.pagination import Page, paginate
from weft.store.scope import OrgScope
from weft.store.tables import NotificationSubscription

MAX_URL_LENGTH = 2048
# Each subscription multiplies every run's notifications; a bound keeps one org's fan-out sane.
MAX_SUBSCRIPTIONS = 50


@dataclass(frozen=True)
class CreatedSubscription:
    """A new subscription and its signing secret in clear (shown once)."""

    subscription: NotificationSubscription
    secret: str


def _org_select(scope: OrgScope) -> Select[tuple[NotificationSubscription]]:
    return select(NotificationSubscription).where(
        NotificationSubscription.org_id == scope.org_id,
        NotificationSubscription.environment == scope.environment,
    )


def check_url(url: str) -> str:
    """The webhook URL, stripped; 400 unless it is an absolute http(s) URL with a host."""
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH or any(c.isspace() for c in url):
        raise InvalidInput(
            f"webhook_url must be an http:// or https:// URL of at most {MAX_URL_LENGTH} "
            "characters",
            error_code="INVALID_WEBHOOK_URL",
        )
    try:
        parsed = URL(url)
    except ValueError as error:
        raise InvalidInput(
            f"webhook_url is not a valid URL: {error}", error_code="INVALID_WEBHOOK_URL"
        ) from error
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidInput(
            "webhook_url must be an http:// or https:// URL with a host",
            error_code="INVALID_WEBHOOK_URL",
        )
    return url


def check_events(events: Iterable[str]) -> list[str]:
    """The events in their canonical spelling, deduplicated; 400 for empty or unknown ones."""
    chosen: list[str] = []
    for name in events:
        event = canonical_event(name)
        if event is None:
            raise InvalidInput(
                f"webhook_events: unknown event {name!r}; accepted: {', '.join(EVENTS)}",
                error_code="INVALID_WEBHOOK_EVENT",
            )
        if event not in chosen:
            chosen.append(event)
    if not chosen:
        raise InvalidInput(
            "webhook_events must name at least one event", error_code="INVALID_WEBHOOK_EVENT"
        )
    return chosen


async def create_subscription(
    scope: OrgScope,
    *,
    url: str,
    events: Iterable[str],
    is_enabled: bool = True,
    box: SecretBox,
    session: AsyncSession,
) -> CreatedSubscription:
    """Register a webhook for the org's environment, with a fresh signing secret."""
    url, chosen = check_url(url), check_events(events)
    count = await session.scalar(select(func.count()).select_from(_org_select(scope).subquery()))
    if (count or 0) >= MAX_SUBSCRIPTIONS:
        raise InvalidInput(
            f"An organization may have at most {MAX_SUBSCRIPTIONS} webhooks per environment",
            error_code="WEBHOOK_LIMIT_REACHED",
        )
    moment, subscription_id, secret = now(), new_id(), new_signing_secret()
    subscription = NotificationSubscription(
        id=subscription_id,
        org_id=scope.org_id,
        environment=scope.environment,
        url=url,
        events=chosen,
        is_enabled=is_enabled,
        secret_sealed=box.seal(secret, context=subscription_id),
        created_at=moment,
        updated_at=moment,
    )
    session.add(subscription)
    await session.flush()
    _SUBSCRIBED.forget((scope.org_id, scope.environment))
    return CreatedSubscription(subscription=subscription, secret=secret)


async def list_subscriptions(
    scope: OrgScope, *, page: int, limit: int, session: AsyncSession
) -> Page[NotificationSubscription]:
    """The org's webhooks in this environment, newest first."""
    return await paginate(
        _org_select(scope),
        session=session,
        page=page,
        limit=limit,
        order_by=(NotificationSubscription.created_at.desc(), NotificationSubscription.id.desc()),
    )


async def get_subscription(
    scope: OrgScope, subscription_id: str, *, session: AsyncSession
) -> NotificationSubscription:
    """One of the org's webhooks, or 404 (also when it belongs to another org)."""
    subscription = await session.scalar(
        _org_select(scope).where(NotificationSubscription.id == subscription_id)
    )
    if subscription is None:
        raise NotFound(f"Webhook {subscription_id} not found", error_code="WEBHOOK_NOT_FOUND")
    return subscription


async def delete_subscription(
    scope: OrgScope, subscription_id: str, *, session: AsyncSession
) -> None:
    """Delete a webhook; its pending deliveries go with it (cascade)."""
    subscription = await get_subscription(scope, subscription_id, session=session)
    await session.execute(
        delete(NotificationSubscription).where(NotificationSubscription.id == subscription.id)
    )


async def subscribers_of(
    org_id: str, environment: str, event: str, *, session: AsyncSession
) -> list[NotificationSubscription]:
    """The enabled webhooks of an org's environment that want `event`."""
    rows = await session.scalars(
        select(NotificationSubscription).where(
            NotificationSubscription.org_id == org_id,
            NotificationSubscription.environment == environment,
            NotificationSubscription.is_enabled.is_(True),
        )
    )
    # Filtered here, not in SQL: JSON containment differs by dialect, and an org has few rows.
    return [row for row in rows if event in row.events]


# Whether an org's environment has any webhook. Most orgs have none, and asking costs a query
# per finished run; a new subscription is noticed by other processes within the TTL.
_SUBSCRIBED = BriefCache(ttl_s=2.0)


async def has_subscriptions(db: Database, org_id: str, environment: str) -> bool:
    """Whether the org has any webhook in this environment (cached briefly)."""

    async def ask() -> bool:
        async with db.reading() as session:
            found = await session.scalar(
                select(NotificationSubscription.id)
                .where(
                    NotificationSubscription.org_id == org_id,
                    NotificationSubscription.environment == environment,
                )
                .limit(1)
            )
        return found is not None

    return await _SUBSCRIBED.get_or_load((org_id, environment), ask)
