"""Refold's server-side config API: a linked account's configs and config fields (with map
fields and dynamic options), its enabled public workflows, and an app's connection form.

The same configs the frontend SDK's routes manage (weft.api.frontend_sdk), called by the SaaS's
backend with its org key and `linked_account_id`, or with a session token.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Depends, Header, Query, Request
from pydantic import BaseModel, Field

from weft.api.applications import application_docs
from weft.api.deps import DbDep, OptionLoaderDep, ScopeDep, SettingsDep, config_id_of
from weft.api.frontend_sdk import (
    ConfigDeletedOut,
    ConfigFieldOut,
    ConfigIn,
    ConfigOut,
    ConfigUpdateIn,
    open_config,
    save_config,
)
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES, ErrorOut, Out
from weft.apps import service as apps_service
from weft.apps.configs import ConfigView, FieldAddress, FieldRef
from weft.errors import InvalidInput

router = Router(tags=["configs"], responses=ERROR_RESPONSES)

SlugHeader = Annotated[
    str | None, Header(max_length=100, description="The app whose config is meant (required)")
]
ConfigIdHeader = Annotated[
    str | None,
    Header(
        alias="config_id",
        convert_underscores=False,
        max_length=200,
        description="The config; default: the app's default config",
    ),
]
WorkflowIdQuery = Annotated[
    str | None,
    Query(max_length=100, description="The public workflow whose field is meant"),
]


def _slug(slug: str | None) -> str:
    if not slug:
        raise InvalidInput("The `slug` header names the app whose config is meant")
    return slug


def _field_address(
    field_id: str,
    request: Request,
    slug: SlugHeader = None,
    config_id: ConfigIdHeader = None,
    workflow_id: WorkflowIdQuery = None,
) -> FieldAddress:
    return FieldAddress(_slug(slug), config_id_of(request, config_id), field_id, workflow_id)


FieldAddressDep = Annotated[FieldAddress, Depends(_field_address)]


@router.post("/config", response_model=ConfigOut, summary="Create (or get) a config")
async def create_config(
    body: ConfigIn, scope: ScopeDep, db: DbDep, loader: OptionLoaderDep
) -> ConfigOut:
    """The linked account's config of app `slug` (`config_id`, default the app's default
    config), created with every public workflow off when missing; dynamic options loaded."""
    return await open_config(body, scope, db, loader)


@router.put("/config", response_model=ConfigOut, summary="Update a config")
async def update_config(
    body: ConfigUpdateIn, scope: ScopeDep, db: DbDep, loader: OptionLoaderDep
) -> ConfigOut:
    """App-level `fields`, and per public workflow `{id, enabled, fields}` (map fields take
    `{label value: option value}`)."""
    return await save_config(body, scope, db, loader)


@router.get("/slug/{slug}/config", response_model=ConfigOut, summary="The app's default config")
@router.get("/slug/{slug}/config/{config_id}", response_model=ConfigOut, summary="One config")
async def get_config(
    slug: str,
    scope: ScopeDep,
    db: DbDep,
    loader: OptionLoaderDep,
    config_id: str | None = None,
    refresh: Annotated[bool, Query(description="Reload dynamic options now")] = False,
) -> ConfigOut:
    view = await apps_service.get_config(db, scope, slug, config_id, loader=loader)
    if refresh:
        view = await apps_service.with_options(view, loader, refresh=True)
    return ConfigOut.of(scope, view)


@router.delete(
    "/slug/{slug}/config", response_model=ConfigDeletedOut, summary="Delete the default config"
)
@router.delete(
    "/slug/{slug}/config/{config_id}", response_model=ConfigDeletedOut, summary="Delete a config"
)
async def delete_config(
    slug: str, scope: ScopeDep, db: DbDep, config_id: str | None = None
) -> ConfigDeletedOut:
    deleted = await apps_service.delete_config(db, scope, slug, config_id)
    return ConfigDeletedOut(success=True, message="Config deleted", config_id=deleted)


class FieldOut(ConfigFieldOut):
    """One config field, where it lives (`workflow_id` null: an app-level field)."""

    slug: str
    config_id: str
    workflow_id: str | None
    options_more: bool = Field(
        False, description="The app listed more options than Weft loads (1000)"
    )

    @classmethod
    def of(cls, view: ConfigView, ref: FieldRef) -> FieldOut:
        if ref.workflow is None or ref.slot is None:
            shown = ConfigFieldOut.of_value(
                ref.field_id, (view.config.fields or {}).get(ref.field_id)
            )
            more = False
        else:
            shown = ConfigFieldOut.of_slot(view, ref.workflow, ref.slot)
            loaded = view.options.get((ref.workflow.workflow.id, ref.field_id))
            more = bool(loaded and loaded.more)
        return cls(
            **shown.model_dump(),
            slug=view.app.slug,
            config_id=view.config.config_id,
            workflow_id=ref.workflow.workflow.id if ref.workflow else None,
            options_more=more,
        )


class FieldValueIn(BaseModel):
    value: Any = Field(
        None, description="The field's value; a map field's is `{label value: option value}`"
    )


class FieldOptionsIn(BaseModel):
    refresh: bool = Field(False, description="Reload dynamic options now (else kept up to 60 s)")


OPTIONS_FAILED = {502: {"model": ErrorOut, "description": "The app failed to list options"}}


@router.get(
    "/config/field/{field_id}",
    response_model=FieldOut,
    responses=OPTIONS_FAILED,
    summary="One config field, its options",
)
@router.post(
    "/config/field/{field_id}",
    response_model=FieldOut,
    responses=OPTIONS_FAILED,
    summary="One config field with its options, dynamic ones loaded from the connected app",
)
async def config_field(
    scope: ScopeDep,  # before the address: a caller without credentials gets 401 first
    address: FieldAddressDep,
    db: DbDep,
    loader: OptionLoaderDep,
    refresh: Annotated[bool, Query(description="Reload dynamic options now")] = False,
    body: Annotated[FieldOptionsIn | None, Body()] = None,
) -> FieldOut:
    """Dynamic options are loaded through the account's connection: 400
    `CONNECTION_REQUIRED` when the app is not connected (or expired), 502
    `APP_CALL_FAILED` when it failed. (A whole config answers regardless, with the reason in
    each such field's `options_error`.)"""
    view, ref = await apps_service.config_field(
        db,
        scope,
        address,
        loader=loader,
        refresh=refresh or bool(body and body.refresh),
    )
    return FieldOut.of(view, ref)


@router.put("/config/field/{field_id}", response_model=FieldOut, summary="Set a field's value")
async def set_config_field(
    body: FieldValueIn, scope: ScopeDep, address: FieldAddressDep, db: DbDep
) -> FieldOut:
    view, ref = await apps_service.set_config_field(db, scope, address, body.value)
    return FieldOut.of(view, ref)


@router.delete(
    "/config/field/{field_id}",
    response_model=FieldOut,
    summary="Clear a field's value (a dataslot's default applies again)",
)
async def clear_config_field(scope: ScopeDep, address: FieldAddressDep, db: DbDep) -> FieldOut:
    view, ref = await apps_service.clear_config_field(db, scope, address)
    return FieldOut.of(view, ref)


class EnabledWorkflowOut(Out):
    """A public workflow one of the linked account's configs enables, with the values its
    runs read there."""

    id: str = Field(alias="_id")
    name: str
    description: str | None
    slug: str
    config_id: str
    enabled: bool = True
    trigger: str | None
    event: str | None
    data_slots: dict[str, Any]


@router.get(
    "/workflow/enabled",
    response_model=list[EnabledWorkflowOut],
    summary="The public workflows the linked account's configs enable",
)
async def enabled_workflows(
    request: Request,
    scope: ScopeDep,
    db: DbDep,
    slug: SlugHeader = None,
    config_id: ConfigIdHeader = None,
) -> list[EnabledWorkflowOut]:
    """Headers (or query) `slug` and `config_id` narrow it to one app, one config."""
    found = await apps_service.enabled_workflows(
        db,
        scope,
        slug=slug or request.query_params.get("slug"),
        config_id=config_id_of(request, config_id) or request.query_params.get("config_id"),
    )
    return [
        EnabledWorkflowOut(
            id=item.workflow.id,
            name=item.workflow.name,
            description=item.workflow.description,
            slug=view.app.slug,
            config_id=view.config.config_id,
            trigger=item.workflow.trigger,
            event=item.workflow.trigger_event,
            data_slots=view.slot_values(item),
        )
        for view, item in found
    ]


class AuthStructureOut(Out):
    """How a linked account connects an app: its auth type and the form a key-based app asks
    for (Refold's `auth_type_options`/`auth_input_map`), with the account's state."""

    slug: str
    name: str
    icon: str | None
    auth_type: str
    auth_type_options: dict[str, Any]
    auth_input_map: list[dict[str, Any]]
    connected: bool
    reauth_required: bool


@router.get(
    "/auth-structure/{slug}", response_model=AuthStructureOut, summary="An app's connection form"
)
async def auth_structure(
    slug: str, scope: ScopeDep, db: DbDep, settings: SettingsDep
) -> AuthStructureOut:
    (app,) = await application_docs(scope, db=db, settings=settings, slug=slug)
    return AuthStructureOut(
        slug=app.slug,
        name=app.name,
        icon=app.icon,
        auth_type=app.auth_type,
        auth_type_options=app.auth_type_options,
        auth_input_map=app.auth_input_map,
        connected=app.connected,
        reauth_required=app.reauth_required,
    )
