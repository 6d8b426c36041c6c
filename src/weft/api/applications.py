"""The app catalog as a linked account sees it (connected or not), and the org's own apps."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field

from weft.api.deps import DbDep, OrgScopeDep, ScopeDep, SettingsDep
from weft.api.openapi_shapes import AppAction, AppTrigger, AuthField, ConnectedAccount, documented
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES, Out
from weft.apps import service
from weft.apps.catalog import icon_url, parse_definition
from weft.apps.connections import ConnectionInfo
from weft.apps.model import AppDefinition
from weft.settings import Settings
from weft.store.db import Database
from weft.store.scope import Scope
from weft.store.tables import App, AppEvent

router = Router(tags=["applications"], responses=ERROR_RESPONSES)


class ApplicationOut(Out):
    """Refold's application shape, plus the declared actions.

    A list names each action (label, description, effect, whether it pages); one app asked for
    by slug also gives each action's `parameters` and `output` schemas, which for a catalogue of
    hundreds of generated actions would make every list megabytes long.
    """

    id: str = Field(alias="_id")
    app_id: str
    slug: str
    name: str
    icon: str | None
    description: str | None
    tags: list[str]
    type: str
    ecosystem: str = "weft"
    auth_type: str
    auth_type_options: dict[str, Any]
    auth_input_map: Annotated[list[dict[str, Any]], documented(AuthField, many=True)]
    connected: bool
    connected_accounts: Annotated[list[dict[str, Any]], documented(ConnectedAccount, many=True)]
    reauth_required: bool
    is_default: bool
    actions: Annotated[list[dict[str, Any]], documented(AppAction, many=True)]
    # App triggers a start node may select (`trigger: app`): name, label, kind, output...
    triggers: Annotated[list[dict[str, Any]], documented(AppTrigger, many=True)] = Field(
        default_factory=list
    )

    @classmethod
    def of(
        cls,
        app: App,
        definition: AppDefinition,
        connection: ConnectionInfo | None,
        base_url: str,
        *,
        schemas: bool,
    ) -> ApplicationOut:
        shown = {"name", "label", "description", "effect", "deprecated"}
        shown |= {"parameters", "output"} if schemas else set()
        fields = [
            f.model_dump(exclude={"secret"}, exclude_none=True) for f in definition.form_fields
        ]
        return cls(
            id=app.id,
            app_id=app.id,
            slug=app.slug,
            name=app.name,
            icon=icon_url(app.icon, base_url),
            description=app.description,
            tags=definition.tags,
            type="custom" if app.org_id else "native",
            auth_type=definition.auth_type,
            auth_type_options={definition.auth_type: fields}
            if definition.auth_type != "none"
            else {},
            auth_input_map=fields,
            connected=connection is not None and not connection.reauth_required,
            connected_accounts=[connection.as_connected_account()] if connection else [],
            reauth_required=connection is not None and connection.reauth_required,
            is_default=app.is_default,
            actions=[
                action.model_dump(include=shown)
                # A list action the editor offers `all_pages` for.
                | {"paginated": definition.pagination_of(action) is not None}
                for action in definition.actions
            ],
            triggers=[
                trigger.model_dump(
                    include={"name", "label", "description", "kind", "output", "interval_s"}
                )
                | {"parameters": trigger_parameters(definition, trigger)}
                for trigger in definition.triggers
            ],
        )


def trigger_parameters(definition: AppDefinition, trigger: Any) -> dict[str, Any]:
    """The parameters a start node gives an app trigger (`params`), as an object schema: a
    subscribing webhook's `user_params`, typed from its subscribe action (all required)."""
    sub = getattr(trigger, "subscribe", None)
    names: list[str] = list(sub.user_params) if sub is not None else []
    action = definition.action(sub.action) if sub is not None else None
    known = (action.parameters.get("properties") or {}) if action is not None else {}
    properties = {name: known.get(name) or {"type": "string"} for name in names}
    return {"type": "object", "properties": properties, "required": names}


async def application_docs(
    scope: Scope,
    *,
    db: Database,
    settings: Settings,
    slug: str | None = None,
    tags: list[str] | None = None,
    auth_type: str | None = None,
) -> list[ApplicationOut]:
    """The apps a linked account sees, each with its connection state (one with `slug`)."""
    seen = await service.app_catalog(db, scope, slug=slug)
    docs = [
        ApplicationOut.of(
            app,
            seen.definitions[app.id],
            seen.connections.get(app.slug),
            settings.base_url,
            schemas=slug is not None,
        )
        for app in seen.apps
    ]
    if tags:
        docs = [doc for doc in docs if set(tags) & set(doc.tags)]
    if auth_type:
        docs = [doc for doc in docs if doc.auth_type == auth_type]
    return docs


@router.get("/application", response_model=list[ApplicationOut], summary="List applications")
async def list_applications(
    scope: ScopeDep,
    db: DbDep,
    settings: SettingsDep,
    slug: str | None = Query(None, max_length=100),
    tags: list[str] | None = Query(None),
    auth_type: str | None = Query(None, max_length=20),
) -> list[ApplicationOut]:
    return await application_docs(
        scope, db=db, settings=settings, slug=slug, tags=tags, auth_type=auth_type
    )


@router.get("/application/{slug}", response_model=ApplicationOut, summary="One application")
async def get_application(
    slug: str, scope: ScopeDep, db: DbDep, settings: SettingsDep
) -> ApplicationOut:
    return (await application_docs(scope, db=db, settings=settings, slug=slug))[0]


class AppDefinitionOut(Out):
    id: str = Field(alias="_id")
    slug: str
    name: str
    auth_type: str
    definition: dict[str, Any]


@router.post(
    "/application",
    response_model=AppDefinitionOut,
    summary="Add or replace one of the org's own apps (org key)",
    description="Body: an app definition, the same shape as the YAML files Weft ships "
    "(`slug`, `name`, `auth`, `base_url`, `actions`, ...). An org's app wins over a shipped "
    "app with the same slug.",
)
async def save_application(body: dict[str, Any], org: OrgScopeDep, db: DbDep) -> AppDefinitionOut:
    definition = parse_definition(body)
    app = await service.save_org_app(db, org.org_id, definition)
    return AppDefinitionOut(
        id=app.id,
        slug=app.slug,
        name=app.name,
        auth_type=app.auth_type,
        definition=app.definition,
    )


class EventIn(BaseModel):
    """Refold's event definition: a name and a sample payload (a JSON string or a value)."""

    name: str = Field(min_length=1, max_length=200)
    response: Any = None
    json_schema: Any = None
    slug: str | None = Field(None, max_length=100, description="The app; default: the org's own")


class EventOut(Out):
    id: str = Field(alias="_id")
    name: str
    slug: str
    response: Any
    json_schema: Any
    created_at: Any = Field(alias="createdAt")
    updated_at: Any = Field(alias="updatedAt")

    @classmethod
    def of(cls, event: AppEvent) -> EventOut:
        return cls(
            id=event.id,
            name=event.name,
            slug=event.app_slug,
            response=event.sample,
            json_schema=event.json_schema,
            created_at=event.created_at,
            updated_at=event.updated_at,
        )


@router.post("/application/event", response_model=EventOut, summary="Define an event (org key)")
async def define_event(body: EventIn, org: OrgScopeDep, db: DbDep) -> EventOut:
    event = await service.save_event(
        db,
        org.org_id,
        body.name,
        slug=body.slug,
        sample=body.response,
        json_schema=body.json_schema,
    )
    return EventOut.of(event)


@router.get("/application/{slug}/events", response_model=list[EventOut], summary="An app's events")
async def app_events(slug: str, scope: ScopeDep, db: DbDep) -> list[EventOut]:
    return [EventOut.of(e) for e in await service.app_events(db, scope, slug)]
