"""Notification webhooks of an org (org API key): Refold's `/webhook` routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field

from weft.api.deps import DbDep, OrgScopeDep, PageDep, SettingsDep
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES, Out, PageOut
from weft.notifications import service
from weft.notifications.crypto import signing_box
from weft.notifications.events import EVENTS
from weft.store.tables import NotificationSubscription

router = Router(tags=["notification webhooks"], responses=ERROR_RESPONSES)

_EVENTS_HELP = f"Events to be told about: {', '.join(EVENTS)}."


class WebhookIn(BaseModel):
    """Refold's body (`webhook_url`, `webhook_events`); `url` and `events` are accepted too."""

    webhook_url: str = Field(
        validation_alias=AliasChoices("webhook_url", "url"),
        max_length=2048,
        description="Where Weft POSTs notifications (http or https).",
    )
    webhook_events: list[str] = Field(
        validation_alias=AliasChoices("webhook_events", "events"),
        max_length=len(EVENTS) * 3,
        description=_EVENTS_HELP,
    )
    is_enabled: bool = Field(True, description="Disabled webhooks receive nothing.")
    webhook_type: Literal["default"] = Field(
        "default", description="Only `default` (JSON POST); Refold's `slack` is not supported."
    )


class WebhookOut(Out):
    id: str = Field(alias="_id")
    webhook_url: str
    webhook_events: list[str]
    url: str
    events: list[str]
    is_enabled: bool
    webhook_type: str
    environment: str
    associated_org: str
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")

    @classmethod
    def of(cls, subscription: NotificationSubscription) -> WebhookOut:
        return cls(**_fields(subscription))


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(
        description="Signing secret, shown only now: `x-cobalt-signature` is the hex "
        "HMAC-SHA256 of the raw request body under it."
    )


def _fields(subscription: NotificationSubscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "webhook_url": subscription.url,
        "webhook_events": subscription.events,
        "url": subscription.url,
        "events": subscription.events,
        "is_enabled": subscription.is_enabled,
        "webhook_type": "default",
        "environment": subscription.environment,
        "associated_org": subscription.org_id,
        "created_at": subscription.created_at,
        "updated_at": subscription.updated_at,
    }


class WebhookDeletedOut(Out):
    success: bool
    id: str = Field(alias="_id")


@router.post("/webhook", response_model=WebhookCreatedOut, summary="Create notification webhook")
async def create_webhook(
    body: WebhookIn, org: OrgScopeDep, db: DbDep, settings: SettingsDep
) -> WebhookCreatedOut:
    """Register a URL for the org's events in this environment; answers its signing secret."""
    created = await service.create_subscription(
        db,
        org,
        url=body.webhook_url,
        events=body.webhook_events,
        is_enabled=body.is_enabled,
        box=signing_box(settings),
    )
    return WebhookCreatedOut(**_fields(created.subscription), secret=created.secret)


@router.get("/webhook", response_model=PageOut[WebhookOut], summary="List notification webhooks")
async def list_webhooks(org: OrgScopeDep, db: DbDep, paging: PageDep) -> PageOut[Any]:
    """The org's webhooks in this environment, newest first (secrets are never listed)."""
    page = await service.list_subscriptions(db, org, page=paging.page, limit=paging.limit)
    return PageOut.of(page, [WebhookOut.of(s) for s in page.items])


@router.delete(
    "/webhook/{webhook_id}",
    response_model=WebhookDeletedOut,
    summary="Delete notification webhook",
)
async def delete_webhook(webhook_id: str, org: OrgScopeDep, db: DbDep) -> WebhookDeletedOut:
    """Delete a webhook and its undelivered notifications."""
    await service.delete_subscription(db, org, webhook_id)
    return WebhookDeletedOut(success=True, id=webhook_id)
