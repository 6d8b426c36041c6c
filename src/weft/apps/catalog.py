"""The app catalog: shipped YAML definitions, each org's own apps and its default custom app."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.apps.model import AppDefinition
from weft.clock import now
from weft.errors import InvalidInput, NotFound
from weft.ids import is_id, new_id
from weft.store.tables import App

DEFAULT_APP_SLUG = "custom"
ICON_ROUTE = "/app-icons"


@functools.cache
def shipped_definitions() -> dict[str, AppDefinition]:
    """Every app definition shipped in the package, by slug: the hand-written
    `apps/definitions/*.yaml` and those generated from OpenAPI documents (`*.json`)."""
    folder = resources.files("weft.apps") / "definitions"
    found: dict[str, AppDefinition] = {}
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".yaml"):
            raw = yaml.safe_load(entry.read_text())
        elif entry.name.endswith(".json"):
            raw = json.loads(entry.read_text())
        else:
            continue
        definition = AppDefinition.model_validate(raw)
        found[definition.slug] = definition
    return found


def shipped_icon(name: str) -> bytes | None:
    """The bytes of a shipped SVG icon, or None for an unknown name."""
    if "/" in name or not name.endswith(".svg"):
        return None
    icon = resources.files("weft.apps") / "icons" / name
    return icon.read_bytes() if icon.is_file() else None


def icon_url(icon: str | None, base_url: str) -> str | None:
    """Where a client fetches an app's icon: shipped file names are served by Weft itself."""
    if icon and "/" not in icon and icon.endswith(".svg"):
        return f"{base_url}{ICON_ROUTE}/{icon}"
    return icon


def _row_fields(definition: AppDefinition) -> dict[str, Any]:
    return {
        "slug": definition.slug,
        "name": definition.name,
        "icon": definition.icon,
        "description": definition.description,
        "auth_type": definition.auth_type,
        "definition": definition.model_dump(mode="json"),
    }


async def ensure_catalog(*, session: AsyncSession) -> None:
    """Bring the shared catalog rows in line with the shipped definitions (run at start)."""
    rows = {app.slug: app for app in await session.scalars(select(App).where(App.org_id.is_(None)))}
    moment = now()
    for definition in shipped_definitions().values():
        fields = _row_fields(definition)
        row = rows.get(definition.slug)
        if row is None:
            session.add(
                App(id=new_id(), org_id=None, created_at=moment, updated_at=moment, **fields)
            )
        elif any(getattr(row, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(row, name, value)
            row.updated_at = moment
    await session.flush()


async def create_default_app(org_id: str, *, session: AsyncSession) -> App:
    """The org's default custom application, used by workflows created without a slug."""
    definition = AppDefinition(
        slug=DEFAULT_APP_SLUG,
        name="Custom Application",
        description="The organisation's default application for account-level workflows.",
    )
    moment = now()
    app = App(
        id=new_id(),
        org_id=org_id,
        is_default=True,
        created_at=moment,
        updated_at=moment,
        **_row_fields(definition),
    )
    session.add(app)
    await session.flush()
    return app


def parse_definition(raw: Any) -> AppDefinition:
    """Validate an app definition an org sends; 400 naming every invalid field."""
    try:
        return AppDefinition.model_validate(raw)
    except ValidationError as error:
        problems = [
            ".".join(str(part) for part in item["loc"]) + f": {item['msg']}"
            for item in error.errors()
        ]
        raise InvalidInput("Invalid app definition: " + "; ".join(problems)) from None


async def save_org_app(org_id: str, definition: AppDefinition, *, session: AsyncSession) -> App:
    """Create or replace one of the org's own apps (it wins over a shipped app of that slug).

    The slug `custom` redefines the org's default application: the one account-level
    workflows call (the SaaS's own API, with the key each linked account connects).
    """
    moment = now()
    row = await session.scalar(select(App).where(App.org_id == org_id, App.slug == definition.slug))
    if row is None:
        row = App(id=new_id(), org_id=org_id, created_at=moment, **_row_fields(definition))
        session.add(row)
    else:
        for name, value in _row_fields(definition).items():
            setattr(row, name, value)
    row.updated_at = moment
    await session.flush()
    return row


def definition_of(app: App) -> AppDefinition:
    """The validated definition an app row holds."""
    raw = dict(app.definition or {})
    if "slug" not in raw:  # rows written before definitions were whole (the default app)
        raw = {"slug": app.slug, "name": app.name, "description": app.description or ""}
    return AppDefinition.model_validate(raw)


def _visible_to(org_id: str) -> Any:
    return or_(App.org_id.is_(None), App.org_id == org_id)


async def list_apps(org_id: str, *, session: AsyncSession) -> list[App]:
    """Every app the org can use: the shared catalog and its own (its own win on a slug)."""
    stmt = select(App).where(_visible_to(org_id)).order_by(App.is_default.desc(), App.name)
    apps = list(await session.scalars(stmt))
    own = {app.slug for app in apps if app.org_id is not None}
    return [app for app in apps if app.org_id is not None or app.slug not in own]


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


async def resolve_definition(org_id: str, slug: str, *, session: AsyncSession) -> AppDefinition:
    """The definition of the app `slug` as this org sees it; 404 APP_NOT_FOUND if unknown."""
    return definition_of(await resolve_app(org_id, slug=slug, session=session))


def action_effect(app_slug: str, action: str) -> str:
    """`read` or `write` for a shipped app's action (safe test mode); unknown counts as write."""
    definition = shipped_definitions().get(app_slug)
    found = definition.action(action) if definition else None
    return found.effect if found else "write"


async def action_effect_for(
    org_id: str, app_slug: str, action: str, *, session: AsyncSession
) -> str:
    """`read` or `write` for any app the org sees (its own included); unknown counts as write."""
    try:
        definition = await resolve_definition(org_id, app_slug, session=session)
    except NotFound:
        return "write"
    found = definition.action(action)
    return found.effect if found else "write"
