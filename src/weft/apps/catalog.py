"""The app catalog: shared declarative definitions plus each org's default custom app."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import now
from weft.errors import NotFound
from weft.ids import is_id, new_id
from weft.store.tables import App

DEFAULT_APP_SLUG = "custom"

# Declarative definitions: auth kind, base URL, actions. Connections and app_action nodes use them.
CATALOG: list[dict[str, Any]] = [
    {
        "slug": "hubspot",
        "name": "Hubspot",
        "description": "CRM: contacts, companies, deals.",
        "auth_type": "oauth2",
        "definition": {
            "base_url": "https://api.hubapi.com",
            "actions": {
                "create_contact": {"method": "POST", "path": "/crm/v3/objects/contacts"},
                "get_contact": {"method": "GET", "path": "/crm/v3/objects/contacts/{id}"},
            },
        },
    },
    {
        "slug": "salesforce",
        "name": "Salesforce",
        "description": "CRM: leads, accounts, opportunities.",
        "auth_type": "oauth2",
        "definition": {
            "base_url": "https://login.salesforce.com",
            "actions": {
                "create_lead": {"method": "POST", "path": "/services/data/v60.0/sobjects/Lead"},
                "query": {"method": "GET", "path": "/services/data/v60.0/query"},
            },
        },
    },
    {
        "slug": "slack",
        "name": "Slack",
        "description": "Messaging: post messages to channels.",
        "auth_type": "oauth2",
        "definition": {
            "base_url": "https://slack.com/api",
            "actions": {"post_message": {"method": "POST", "path": "/chat.postMessage"}},
        },
    },
    {
        "slug": "http",
        "name": "HTTP",
        "description": "Any HTTP API, with an API key or no auth.",
        "auth_type": "api_key",
        "definition": {"base_url": "", "actions": {}},
    },
]


async def ensure_catalog(*, session: AsyncSession) -> None:
    """Insert catalog apps the database does not have yet (idempotent; run at start)."""
    existing = set(await session.scalars(select(App.slug).where(App.org_id.is_(None))))
    moment = now()
    for entry in CATALOG:
        if entry["slug"] not in existing:
            session.add(
                App(id=new_id(), org_id=None, created_at=moment, updated_at=moment, **entry)
            )
    await session.flush()


async def create_default_app(org_id: str, *, session: AsyncSession) -> App:
    """The org's default custom application, used by workflows created without a slug."""
    moment = now()
    app = App(
        id=new_id(),
        org_id=org_id,
        slug=DEFAULT_APP_SLUG,
        name="Custom Application",
        description="The organisation's default application for account-level workflows.",
        auth_type="none",
        definition={"base_url": "", "actions": {}},
        is_default=True,
        created_at=moment,
        updated_at=moment,
    )
    session.add(app)
    await session.flush()
    return app


def _visible_to(org_id: str) -> Any:
    return or_(App.org_id.is_(None), App.org_id == org_id)


async def list_apps(org_id: str, *, session: AsyncSession) -> list[App]:
    """Every app the org can use: the shared catalog and its own."""
    stmt = select(App).where(_visible_to(org_id)).order_by(App.is_default.desc(), App.name)
    return list(await session.scalars(stmt))


async def resolve_app(
    org_id: str, *, slug: str | None = None, app_id: str | None = None, session: AsyncSession
) -> App:
    """The app named by slug or id; neither given means the org's default app. 404 if unknown."""
    stmt = select(App).where(_visible_to(org_id))
    if slug:
        # An org's own app with the same slug wins over the shared one.
        stmt = stmt.where(App.slug == slug).order_by(App.org_id.is_(None))
    elif app_id:
        if not is_id(app_id):
            raise NotFound(f"Application {app_id} not found", error_code="APP_NOT_FOUND")
        stmt = stmt.where(App.id == app_id)
    else:
        stmt = stmt.where(App.org_id == org_id, App.is_default.is_(True))
    app = (await session.scalars(stmt.limit(1))).first()
    if app is None:
        label = f"slug {slug}" if slug else f"id {app_id}" if app_id else "default"
        raise NotFound(f"Application with {label} not found", error_code="APP_NOT_FOUND")
    return app
