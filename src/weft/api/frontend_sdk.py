"""The routes Refold's frontend SDK (`@cobaltio/cobalt-js`) calls, with its exact shapes.

The SDK runs in the SaaS's browser page with a session token; CORS grants for it come from the
org's `allowed_origins` (weft.api.cors). It throws on any 4xx/5xx and reads JSON from every
answer it awaits, deleteConfig's included.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from weft.api import applications
from weft.api.deps import DbDep, OptionLoaderDep, ScopeDep, ServicesDep, SettingsDep
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES, Out
from weft.apps import service as apps_service
from weft.apps.access import disconnect
from weft.apps.config_options import OptionLoader
from weft.apps.configs import ConfigView
from weft.errors import NotFound
from weft.store.db import Database
from weft.store.scope import Scope
from weft.tenancy import service as tenancy_service
from weft.workflows.public import DataSlot, LivePublicWorkflow

router = Router(tags=["frontend sdk"], responses=ERROR_RESPONSES)

# The application routes answer exactly as GET /api/v2/public/application[/{slug}] does.
router.add_api_route(
    "/api/v2/f-sdk/application",
    applications.list_applications,
    methods=["GET"],
    response_model=list[applications.ApplicationOut],
    summary="SDK getApp(): every application, with this account's connection status",
)
router.add_api_route(
    "/api/v2/f-sdk/application/{slug}",
    applications.get_application,
    methods=["GET"],
    response_model=applications.ApplicationOut,
    summary="SDK getApp(slug): one application, with this account's connection status",
)


class SavedOut(BaseModel):
    success: bool


class AuthUrlOut(BaseModel):
    auth_url: str


@router.post(
    "/api/v2/app/{slug}/save",
    response_model=SavedOut,
    summary="SDK connect(slug, payload) for a key-based app: the body holds the form's fields",
)
async def sdk_save_keybased(
    slug: str, body: dict[str, Any], scope: ScopeDep, db: DbDep, settings: SettingsDep
) -> SavedOut:
    """Connect a key-based app; the answer never holds the credentials."""
    await apps_service.connect_keybased(db, scope, slug, body, settings=settings)
    return SavedOut(success=True)


@router.get(
    "/api/v1/{slug}/integrate",
    response_model=AuthUrlOut,
    summary="SDK connect(slug) for an OAuth2 app: where to send the user's browser",
)
async def sdk_integrate(slug: str, scope: ScopeDep, db: DbDep, settings: SettingsDep) -> AuthUrlOut:
    started = await apps_service.start_authorization(db, scope, slug, settings=settings)
    return AuthUrlOut(auth_url=started.auth_url)


@router.delete(
    "/api/v1/linked-acc/integration/{slug}",
    response_model=SavedOut,
    summary="SDK disconnect(slug): remove the connection (OAuth2 tokens are revoked)",
)
async def sdk_disconnect(
    slug: str,
    scope: ScopeDep,
    db: DbDep,
    settings: SettingsDep,
    services: ServicesDep,
) -> SavedOut:
    revoked = await disconnect(scope, slug, db=db, settings=settings, outbound=services.outbound)
    if revoked is None:
        raise NotFound(f"No {slug} connection", error_code="CONNECTION_NOT_FOUND")
    return SavedOut(success=True)


class Label(BaseModel):
    name: str = Field(max_length=200)
    value: str | int | float | bool | None = None


class ConfigIn(BaseModel):
    """SDK config(): the app, an optional config id, and label mappings."""

    slug: str = Field(min_length=1, max_length=100)
    config_id: str | None = Field(None, max_length=200)
    labels: list[Label] | None = Field(None, max_length=500)


class ConfigWorkflowIn(BaseModel):
    id: str = Field(max_length=100)
    enabled: bool | None = None
    fields: dict[str, Any] | None = None


class ConfigUpdateIn(BaseModel):
    """SDK updateConfig(): app-level values, and per public workflow on/off and dataslots."""

    slug: str = Field(min_length=1, max_length=100)
    config_id: str | None = Field(None, max_length=200)
    fields: dict[str, Any] | None = None
    workflows: list[ConfigWorkflowIn] | None = Field(None, max_length=500)


async def open_config(
    body: ConfigIn, scope: Scope, db: Database, loader: OptionLoader
) -> ConfigOut:
    """The config, created when missing (the SDK's config() and `POST /config` alike)."""
    labels = [label.model_dump() for label in body.labels] if body.labels is not None else None
    view = await apps_service.upsert_config(
        db, scope, body.slug, config_id=body.config_id, labels=labels, loader=loader
    )
    return ConfigOut.of(scope, view)


async def save_config(
    body: ConfigUpdateIn, scope: Scope, db: Database, loader: OptionLoader
) -> ConfigOut:
    """Apply an update (the SDK's updateConfig() and `PUT /config` alike); the config after."""
    workflows = body.workflows
    view = await apps_service.update_config(
        db,
        scope,
        body.slug,
        config_id=body.config_id,
        fields=body.fields,
        workflows=(
            None if workflows is None else [w.model_dump(exclude_unset=True) for w in workflows]
        ),
        loader=loader,
    )
    return ConfigOut.of(scope, view)


class ConfigFieldOut(BaseModel):
    """A config field. `map` fields map each of `labels` (the SaaS's fields) to one of
    `options` (the app's fields); `dynamic_options` fields have their options loaded from the
    connected app, or `options_error` saying why not (`CONNECTION_REQUIRED`...)."""

    id: str
    name: str
    field_type: str
    required: bool = False
    options: list[dict[str, Any]] | None = None
    placeholder: str | None = None
    help_text: str | None = None
    value: Any = None
    labels: list[dict[str, Any]] | None = None
    dynamic_options: bool = False
    options_error: dict[str, str] | None = None

    @classmethod
    def of_slot(cls, view: ConfigView, item: LivePublicWorkflow, slot: DataSlot) -> ConfigFieldOut:
        loaded = view.options.get((item.workflow.id, slot.name))
        dynamic = slot.dynamic_options is not None
        return cls(
            id=slot.name,
            name=slot.label or slot.name,
            field_type=slot.field_type,
            required=slot.required,
            options=(loaded.options if loaded else None) if dynamic else slot.options,
            placeholder=slot.placeholder,
            help_text=slot.help_text,
            value=view.slot_values(item).get(slot.name),
            labels=view.labels_of(slot) if slot.field_type == "map" else None,
            dynamic_options=dynamic,
            options_error=loaded.error if loaded else None,
        )

    @classmethod
    def of_value(cls, name: str, value: Any) -> ConfigFieldOut:
        """An app-level field: a value the config holds, typed by what it is."""
        return cls(id=name, name=name, field_type=_type_of(value), value=value)


class ConfigWorkflowOut(BaseModel):
    id: str
    name: str
    description: str | None
    enabled: bool
    fields: list[ConfigFieldOut]


class ConfigOut(Out):
    """Refold's Config: `{slug, config_id, fields, workflows, field_errors}` (plus ids, dates)."""

    id: str = Field(alias="_id")
    slug: str
    config_id: str
    linked_account_id: str
    labels: list[dict[str, Any]]
    fields: list[ConfigFieldOut]
    workflows: list[ConfigWorkflowOut]
    field_errors: list[dict[str, str]]
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")

    @classmethod
    def of(cls, scope: Scope, view: ConfigView) -> ConfigOut:
        config = view.config
        return cls(
            id=config.id,
            slug=view.app.slug,
            config_id=config.config_id,
            linked_account_id=scope.account_id,
            labels=list(config.labels or []),
            fields=[
                ConfigFieldOut.of_value(name, value)
                for name, value in (config.fields or {}).items()
            ],
            workflows=[
                ConfigWorkflowOut(
                    id=item.workflow.id,
                    name=item.workflow.name,
                    description=item.workflow.description,
                    enabled=view.enabled(item.workflow.id),
                    fields=[ConfigFieldOut.of_slot(view, item, slot) for slot in item.data_slots],
                )
                for item in view.workflows
            ],
            field_errors=view.field_errors(),
            created_at=config.created_at,
            updated_at=config.updated_at,
        )


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "text"


class ConfigDeletedOut(BaseModel):
    success: bool
    message: str
    config_id: str


@router.post("/api/v2/f-sdk/config", response_model=ConfigOut, summary="SDK config(): upsert")
async def sdk_config(
    body: ConfigIn, scope: ScopeDep, db: DbDep, loader: OptionLoaderDep
) -> ConfigOut:
    """The config, created with every public workflow off when it does not exist yet."""
    return await open_config(body, scope, db, loader)


@router.put("/api/v2/f-sdk/config", response_model=ConfigOut, summary="SDK updateConfig()")
async def sdk_update_config(
    body: ConfigUpdateIn, scope: ScopeDep, db: DbDep, loader: OptionLoaderDep
) -> ConfigOut:
    return await save_config(body, scope, db, loader)


@router.get(
    "/api/v2/f-sdk/slug/{slug}/config",
    response_model=ConfigOut,
    summary="SDK getConfig(slug): the app's default config",
)
@router.get(
    "/api/v2/f-sdk/slug/{slug}/config/{config_id}",
    response_model=ConfigOut,
    summary="SDK getConfig(slug, config_id)",
)
async def sdk_get_config(
    slug: str, scope: ScopeDep, db: DbDep, loader: OptionLoaderDep, config_id: str | None = None
) -> ConfigOut:
    view = await apps_service.get_config(db, scope, slug, config_id, loader=loader)
    return ConfigOut.of(scope, view)


@router.delete(
    "/api/v2/f-sdk/slug/{slug}/config",
    response_model=ConfigDeletedOut,
    summary="SDK deleteConfig(slug): the app's default config",
)
@router.delete(
    "/api/v2/f-sdk/slug/{slug}/config/{config_id}",
    response_model=ConfigDeletedOut,
    summary="SDK deleteConfig(slug, config_id)",
)
async def sdk_delete_config(
    slug: str, scope: ScopeDep, db: DbDep, config_id: str | None = None
) -> ConfigDeletedOut:
    deleted = await apps_service.delete_config(db, scope, slug, config_id)
    return ConfigDeletedOut(success=True, message="Config deleted", config_id=deleted)


class OrgBasicsOut(Out):
    """SDK getAccountDetails(): the org and the linked account the token acts for."""

    id: str = Field(alias="_id")
    name: str
    environment: str
    org: dict[str, Any]
    linked_account: dict[str, Any]
    linked_account_id: str


@router.get("/api/v3/org/basics", response_model=OrgBasicsOut, summary="SDK getAccountDetails()")
async def org_basics(scope: ScopeDep, db: DbDep) -> OrgBasicsOut:
    org, account = await tenancy_service.org_and_account(db, scope)
    return OrgBasicsOut(
        id=org.id,
        name=org.name,
        environment=scope.environment,
        org={"_id": org.id, "name": org.name},
        linked_account={
            "_id": account.id,
            "linked_account_id": account.account_id,
            "name": account.name,
            "udf": account.udf,
        },
        linked_account_id=account.account_id,
    )
