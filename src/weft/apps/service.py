"""Apps, connections and configs as the API calls them: each call opens and owns one transaction.

Writes take a write transaction; reads a read transaction that creates nothing. Rows come back
usable after the commit (the sessions do not expire them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from weft.apps import catalog, configs, events, oauth, org_settings
from weft.apps.catalog import prepare_database as prepare_database  # its old home: app.py, tests
from weft.apps.config_options import OptionLoader, OptionsUnavailable
from weft.apps.connections import (
    ConnectionInfo,
    list_connections,
    save_keybased_connection,
    secret_box,
)
from weft.apps.model import AppDefinition
from weft.settings import Settings
from weft.store.db import Database
from weft.store.scope import Scope
from weft.store.tables import App, AppEvent
from weft.workflows.public import LivePublicWorkflow


@dataclass(frozen=True)
class AppCatalog:
    """The apps a linked account sees, their definitions (by app id) and its connections to
    them (by app slug)."""

    apps: list[App]
    definitions: dict[str, AppDefinition]
    connections: dict[str, ConnectionInfo]


@dataclass(frozen=True)
class AuthorizationStarted:
    """An OAuth2 connection begins in the user's browser, at this provider URL."""

    auth_url: str


async def app_catalog(db: Database, scope: Scope, *, slug: str | None = None) -> AppCatalog:
    """Every app the linked account sees (only `slug`'s when given, 404 if unknown)."""
    async with db.reading() as session:
        if slug:
            apps = [await catalog.resolve_app(scope.org_id, slug=slug, session=session)]
        else:
            apps = await catalog.list_apps(scope.org_id, session=session)
        definitions = await catalog.definitions_for(apps, session=session)
        return AppCatalog(apps, definitions, await list_connections(scope, session=session))


async def save_org_app(db: Database, org_id: str, definition: AppDefinition) -> App:
    """Add or replace one of the org's own apps."""
    async with db.transaction() as session:
        return await catalog.save_org_app(org_id, definition, session=session)


async def save_event(
    db: Database, org_id: str, name: str, *, slug: str | None, sample: Any, json_schema: Any
) -> AppEvent:
    """Create or replace an app's event definition."""
    async with db.transaction() as session:
        return await events.save_event(
            org_id, name, slug=slug, sample=sample, json_schema=json_schema, session=session
        )


async def app_events(db: Database, scope: Scope, slug: str) -> list[AppEvent]:
    """The events the org defined for app `slug`, by name (404 for an unknown app)."""
    async with db.reading() as session:
        app = await catalog.resolve_app(scope.org_id, slug=slug, session=session)
        return await events.list_events(scope.org_id, app.slug, session=session)


async def connect(
    db: Database,
    scope: Scope,
    slug: str,
    *,
    credentials: dict[str, Any],
    return_url: str | None,
    settings: Settings,
) -> ConnectionInfo | AuthorizationStarted:
    """Connect a key-based app with `credentials`, or start an OAuth2 app's authorization."""
    async with db.transaction() as session:
        definition = await catalog.resolve_definition(scope.org_id, slug, session=session)
        if definition.auth_type == "oauth2":
            url = await oauth.authorize_url(
                scope, slug, session=session, settings=settings, return_url=return_url
            )
            return AuthorizationStarted(url)
        return await save_keybased_connection(
            scope, slug, credentials, session=session, settings=settings
        )


async def connect_keybased(
    db: Database, scope: Scope, slug: str, credentials: Any, *, settings: Settings
) -> ConnectionInfo:
    """Connect a key-based app with the typed credentials (replacing an earlier connection)."""
    async with db.transaction() as session:
        return await save_keybased_connection(
            scope, slug, credentials, session=session, settings=settings
        )


async def start_authorization(
    db: Database, scope: Scope, slug: str, *, settings: Settings
) -> AuthorizationStarted:
    """Start an OAuth2 app's authorization (its state is stored for the callback)."""
    async with db.transaction() as session:
        url = await oauth.authorize_url(scope, slug, session=session, settings=settings)
    return AuthorizationStarted(url)


async def set_app_settings(
    db: Database, org_id: str, slug: str, values: dict[str, Any], *, settings: Settings
) -> dict[str, Any]:
    """Merge the org's settings for app `slug` (404 for an unknown app); them, secret left out."""
    async with db.transaction() as session:
        await catalog.resolve_definition(org_id, slug, session=session)
        return await org_settings.set_app_settings(
            org_id, slug, values, session=session, box=secret_box(settings)
        )


async def set_ai_settings(
    db: Database, org_id: str, values: dict[str, Any], *, settings: Settings
) -> dict[str, Any]:
    """Merge the org's ai endpoint settings; them, key left out."""
    async with db.transaction() as session:
        return await org_settings.set_ai_settings(
            org_id, values, session=session, box=secret_box(settings)
        )


async def upsert_config(
    db: Database,
    scope: Scope,
    slug: str,
    *,
    config_id: str | None,
    labels: list[dict[str, Any]] | None,
    loader: OptionLoader | None = None,
) -> configs.ConfigView:
    """The config, created with every public workflow off when it does not exist yet; with a
    `loader`, its dynamic options loaded."""
    async with db.transaction() as session:
        view = await configs.upsert_config(
            scope, slug, config_id=config_id, labels=labels, session=session
        )
    return await with_options(view, loader)


async def update_config(
    db: Database,
    scope: Scope,
    slug: str,
    *,
    config_id: str | None,
    fields: dict[str, Any] | None,
    workflows: list[dict[str, Any]] | None,
    loader: OptionLoader | None = None,
) -> configs.ConfigView:
    """Change a config's values and its public workflows' switches and dataslots."""
    async with db.transaction() as session:
        view = await configs.update_config(
            scope, slug, config_id=config_id, fields=fields, workflows=workflows, session=session
        )
    return await with_options(view, loader)


async def get_config(
    db: Database,
    scope: Scope,
    slug: str,
    config_id: str | None,
    *,
    loader: OptionLoader | None = None,
) -> configs.ConfigView:
    """One config of the linked account (the app's default when `config_id` is None), or 404."""
    async with db.reading() as session:
        view = await configs.get_config(scope, slug, config_id, session=session)
    return await with_options(view, loader)


async def delete_config(db: Database, scope: Scope, slug: str, config_id: str | None) -> str:
    """Delete one config; its config id."""
    async with db.transaction() as session:
        return await configs.delete_config(scope, slug, config_id, session=session)


async def with_options(
    view: configs.ConfigView,
    loader: OptionLoader | None,
    *,
    refresh: bool = False,
    only: tuple[str, str] | None = None,
) -> configs.ConfigView:
    """The view with its dynamic options loaded (after the transaction: this calls apps)."""
    if loader is None:
        return view
    return await configs.load_options(view, loader, refresh=refresh, only=only)


async def config_field(
    db: Database,
    scope: Scope,
    address: configs.FieldAddress,
    *,
    loader: OptionLoader | None = None,
    refresh: bool = False,
) -> tuple[configs.ConfigView, configs.FieldRef]:
    """One config field, its dynamic options loaded (`refresh`: not the briefly kept ones);
    OptionsUnavailable when they cannot be."""
    async with db.reading() as session:
        view, ref = await configs.get_field(scope, address, session=session)
    if ref.workflow is not None:
        only = (ref.workflow.workflow.id, address.field_id)
        await with_options(view, loader, refresh=refresh, only=only)
        loaded = view.options.get(only)
        if loaded is not None and loaded.error is not None:
            raise OptionsUnavailable.of(address.field_id, loaded)
    return view, ref


async def set_config_field(
    db: Database, scope: Scope, address: configs.FieldAddress, value: Any
) -> tuple[configs.ConfigView, configs.FieldRef]:
    """Set one config field's value."""
    async with db.transaction() as session:
        return await configs.set_field(scope, address, value, session=session)


async def clear_config_field(
    db: Database, scope: Scope, address: configs.FieldAddress
) -> tuple[configs.ConfigView, configs.FieldRef]:
    """Clear one config field's value (a dataslot's default applies again)."""
    async with db.transaction() as session:
        return await configs.clear_field(scope, address, session=session)


async def enabled_workflows(
    db: Database, scope: Scope, *, slug: str | None, config_id: str | None
) -> list[tuple[configs.ConfigView, LivePublicWorkflow]]:
    """The public workflows the linked account's configs enable."""
    async with db.reading() as session:
        return await configs.enabled_workflows(
            scope, slug=slug, config_id=config_id, session=session
        )
