"""The app catalog: shipped YAML definitions, each org's own apps and its default custom app."""

from __future__ import annotations

import functools
import hashlib
import json
from collections import OrderedDict
from datetime import datetime
from importlib import resources
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from weft.apps.model import CHECKED, AppDefinition, refold_auth_type
from weft.clock import now
from weft.errors import InvalidInput, NotFound
from weft.ids import is_id, new_id
from weft.store.tables import App

if TYPE_CHECKING:
    from weft.store.db import Database

_YAML = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Validated definitions by (app row id, its updated_at): a row's definition is parsed once per
# process, not per call (a generated app's definition is up to a megabyte of JSON).
_CACHE_SIZE = 512
_definitions: OrderedDict[tuple[str, datetime | None], AppDefinition] = OrderedDict()
# Rows are read without their definition; `definition_for` fetches it only on a cache miss.
_LIGHT = defer(App.definition, raiseload=True)

DEFAULT_APP_SLUG = "custom"
ICON_ROUTE = "/app-icons"


@functools.cache
def _shipped_files() -> dict[str, Traversable]:
    """Each shipped definition file by slug (its name): the hand-written `*.yaml` and those
    generated from OpenAPI documents (`*.json`). Nothing is read until an app is asked for."""
    folder = resources.files("weft.apps") / "definitions"
    return {
        entry.name.rsplit(".", 1)[0]: entry
        for entry in sorted(folder.iterdir(), key=lambda item: item.name)
        if entry.name.endswith((".yaml", ".json"))
    }


def shipped_slugs() -> list[str]:
    """The slugs of every shipped app, sorted."""
    return sorted(_shipped_files())


def _read_raw(entry: Traversable, data: bytes | None = None) -> dict[str, Any]:
    text = (entry.read_bytes() if data is None else data).decode("utf-8")
    return json.loads(text) if entry.name.endswith(".json") else yaml.load(text, Loader=_YAML)


@functools.cache
def shipped_definition(slug: str) -> AppDefinition | None:
    """One shipped app's definition (read and validated on first use), or None."""
    entry = _shipped_files().get(slug)
    if entry is None:
        return None
    return AppDefinition.model_validate(_read_raw(entry), context={CHECKED: True})


def shipped_definitions() -> dict[str, AppDefinition]:
    """Every shipped app definition, by slug (reads them all: tools and tests)."""
    return {slug: found for slug in shipped_slugs() if (found := shipped_definition(slug))}


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


def _shipped_row_fields(raw: dict[str, Any], digest: str) -> dict[str, Any]:
    """A shared row made from a shipped file as it is (its checks run in the tests, and
    `definition_for` fills defaults on use): no validation and no dump at start."""
    auth = raw.get("auth") or {}
    return {
        "slug": raw["slug"],
        "name": raw["name"],
        "icon": raw.get("icon"),
        "description": raw.get("description", ""),
        "auth_type": refold_auth_type(auth.get("type", "none"), auth.get("grant")),
        "definition": raw,
        "digest": digest,
    }


async def prepare_database(db: Database) -> None:
    """Seed what every deployment needs (the app catalog); idempotent. Here, beside the seeding,
    so a `weft` command's transaction needs only this module, not apps/service.py's imports."""
    async with db.transaction() as session:
        await ensure_catalog(session=session)


async def ensure_catalog(*, session: AsyncSession) -> None:
    """Bring the shared catalog rows in line with the shipped files (run at start).

    Only files whose digest differs from their row's are parsed, so an unchanged catalogue
    costs one hash of each file and one query.
    """
    stmt = select(App.id, App.slug, App.digest).where(App.org_id.is_(None))
    rows = {row.slug: row for row in await session.execute(stmt)}
    moment = now()
    for slug, entry in _shipped_files().items():
        data = entry.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        row = rows.get(slug)
        if row is not None and row.digest == digest:
            continue
        fields = _shipped_row_fields(_read_raw(entry, data), digest)
        if row is None:
            session.add(
                App(id=new_id(), org_id=None, created_at=moment, updated_at=moment, **fields)
            )
        else:
            await session.execute(
                update(App).where(App.id == row.id).values(**fields, updated_at=moment)
            )
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


async def definition_for(app: App, *, session: AsyncSession) -> AppDefinition:
    """The validated definition an app row holds, parsed once per row version."""
    return (await definitions_for([app], session=session))[app.id]


async def definitions_for(apps: list[App], *, session: AsyncSession) -> dict[str, AppDefinition]:
    """Each app's definition by row id: one query for those not parsed yet, none otherwise."""
    missing = [app.id for app in apps if (app.id, app.updated_at) not in _definitions]
    parsed: dict[tuple[str, datetime | None], AppDefinition] = {}
    if missing:
        columns = (App.id, App.updated_at, App.definition, App.slug, App.name, App.description)
        for row in await session.execute(select(*columns).where(App.id.in_(missing))):
            raw = dict(row.definition or {})
            if "slug" not in raw:  # rows written before definitions were whole (default app)
                raw = {"slug": row.slug, "name": row.name, "description": row.description or ""}
            # Stored definitions were checked when written (parse_definition, the importer).
            parsed[(row.id, row.updated_at)] = AppDefinition.model_validate(
                raw, context={CHECKED: True}
            )
    found = {}
    for app in apps:
        key = (app.id, app.updated_at)
        found[app.id] = parsed.get(key) or _definitions[key]
        _definitions[key] = found[app.id]
        _definitions.move_to_end(key)
    while len(_definitions) > _CACHE_SIZE:
        _definitions.popitem(last=False)
    return found


def _visible_to(org_id: str) -> Any:
    return or_(App.org_id.is_(None), App.org_id == org_id)


async def list_apps(org_id: str, *, session: AsyncSession) -> list[App]:
    """Every app the org can use: the shared catalog and its own (its own win on a slug)."""
    stmt = (
        select(App)
        .options(_LIGHT)
        .where(_visible_to(org_id))
        .order_by(App.is_default.desc(), App.name)
    )
    apps = list(await session.scalars(stmt))
    own = {app.slug for app in apps if app.org_id is not None}
    return [app for app in apps if app.org_id is not None or app.slug not in own]


async def resolve_app(
    org_id: str, *, slug: str | None = None, app_id: str | None = None, session: AsyncSession
) -> App:
    """The app named by slug or id; neither given means the org's default app. 404 if unknown."""
    stmt = select(App).options(_LIGHT).where(_visible_to(org_id))
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
    app = await resolve_app(org_id, slug=slug, session=session)
    return await definition_for(app, session=session)


def action_effect(app_slug: str, action: str) -> str:
    """`read` or `write` for a shipped app's action (safe test mode); unknown counts as write."""
    definition = shipped_definition(app_slug)
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
