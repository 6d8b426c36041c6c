"""Public (org-level) workflows: the org's templates per app, and their dataslots.

A public workflow is a row of the workflow tables whose `linked_account_pk` is NULL, reached only
through `PublicScope` (DESIGN §1). The org builds, drafts and publishes it with the same routes
as a private one, using its API key without a linked account. Linked accounts run it through
their config of the app, which enables it and fills its dataslots.

Dataslots are declared in the draft's `settings.data_slots`; a run reads the values as
`{{ config.data_slots.<name> }}` (and the config's app-level values as `config.fields`).
Private workflows have no user config, so they may not declare dataslots (seed 000).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from weft.errors import InvalidInput, NotFound
from weft.ids import is_id
from weft.store.scope import OrgScope, PublicScope, Scope, scoped_select
from weft.store.tables import Workflow, WorkflowVersion
from weft.workflows.trigger_index import start_config

# Triggers a public workflow may start from: every run belongs to one linked account's config,
# which an event or an execute call names; a webhook or a schedule would name none.
PUBLIC_TRIGGERS = ("manual", "event")
MAX_DATA_SLOTS = 50


# A dotted path into a JSON answer (`results`, `data.items`), or `$` for the answer itself.
RESPONSE_PATH = r"^(\$|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)$"


class DynamicOptions(BaseModel):
    """Where a select or map slot's options come from: a list action of an app, called live
    with the linked account's connection (Slack channels, HubSpot contact properties...)."""

    model_config = ConfigDict(extra="forbid")

    app: str | None = Field(
        None, max_length=100, description="The app to ask; default: the config's app"
    )
    action: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    items: str | None = Field(
        None,
        pattern=RESPONSE_PATH,
        description="Where the list is in the answer; default: the action's `items`, else `$`",
    )
    value: str = Field("id", pattern=RESPONSE_PATH, description="Each item's value")
    label: str | None = Field(
        None, pattern=RESPONSE_PATH, description="Each item's label; default: its value"
    )


class DataSlot(BaseModel):
    """One value a linked account fills in for a public workflow.

    A `map` slot maps each of `labels` (the SaaS's own fields, `{name, value}`; default: the
    labels the config was created with) to one of `options` (the app's fields): its value is
    `{label value: option value}`. `dynamic_options` loads a select's or a map's options live
    from the linked account's connected app.
    """

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    label: str | None = Field(None, max_length=200)
    field_type: Literal["text", "number", "boolean", "select", "json", "map"] = "text"
    required: bool = False
    options: list[dict[str, Any]] | None = Field(None, max_length=500)
    labels: list[dict[str, Any]] | None = Field(None, max_length=500)
    dynamic_options: DynamicOptions | None = None
    placeholder: str | None = Field(None, max_length=500)
    help_text: str | None = Field(None, max_length=2000)
    default: Any = None

    @model_validator(mode="after")
    def _kind_fits(self) -> DataSlot:
        if self.dynamic_options is not None and self.field_type not in ("select", "map"):
            raise ValueError("dynamic_options: only select and map slots load options")
        if self.labels is not None and self.field_type != "map":
            raise ValueError("labels: only map slots have labels")
        for label in self.labels or []:
            if not isinstance(label.get("name", label.get("value")), str):
                raise ValueError("labels: each label is {name, value}")
        return self


def parse_data_slots(settings: dict[str, Any] | None) -> list[DataSlot]:
    """The dataslots a workflow's settings declare; 400 naming the first bad one."""
    raw = (settings or {}).get("data_slots") or []
    if not isinstance(raw, list) or len(raw) > MAX_DATA_SLOTS:
        raise InvalidInput(
            f"settings.data_slots must be a list of at most {MAX_DATA_SLOTS} slots",
            error_code="INVALID_DATA_SLOTS",
        )
    slots: list[DataSlot] = []
    for index, item in enumerate(raw):
        try:
            slots.append(DataSlot.model_validate(item))
        except ValidationError as error:
            first = error.errors()[0]
            where = "".join(f".{p}" for p in first["loc"])
            raise InvalidInput(
                f"settings.data_slots[{index}]{where}: {first['msg']}",
                error_code="INVALID_DATA_SLOTS",
            ) from error
    names = [s.name for s in slots]
    if len(set(names)) != len(names):
        raise InvalidInput(
            "settings.data_slots names must be unique", error_code="INVALID_DATA_SLOTS"
        )
    return slots


def check_draft_settings(scope: OrgScope, settings: dict[str, Any] | None) -> None:
    """Refuse dataslots on a private workflow; validate them on a public one."""
    if isinstance(scope, Scope):
        if (settings or {}).get("data_slots"):
            raise InvalidInput(
                "Private workflows cannot use dataslots: user config is only available in "
                "public workflows, which the org publishes per app",
                error_code="DATA_SLOTS_NOT_ALLOWED",
            )
        return
    parse_data_slots(settings)


def check_publishable(scope: OrgScope, nodes: list[dict[str, Any]]) -> None:
    """A public workflow must start from an API call or an event (runs need a config)."""
    if not isinstance(scope, PublicScope):
        return
    trigger = start_config(nodes).get("trigger", "manual")
    if trigger not in PUBLIC_TRIGGERS:
        raise InvalidInput(
            f"A public workflow starts from an API call or an event, not {trigger!r}: each run "
            "belongs to one linked account's config",
            error_code="INVALID_PUBLIC_TRIGGER",
        )


@dataclass(frozen=True)
class LivePublicWorkflow:
    """A published public workflow with the dataslots of its live version."""

    workflow: Workflow
    data_slots: list[DataSlot]


async def live_public_workflows(
    scope: OrgScope, app_id: str, *, session: AsyncSession
) -> list[LivePublicWorkflow]:
    """The org's published public workflows of one app, oldest first."""
    public = PublicScope(scope.org_id, scope.environment)
    rows = (
        await session.execute(
            scoped_select(Workflow, public)
            .add_columns(WorkflowVersion.settings)
            .join(
                WorkflowVersion,
                (WorkflowVersion.workflow_id == Workflow.id)
                & (WorkflowVersion.version == Workflow.current_version),
            )
            .where(Workflow.app_id == app_id, Workflow.published.is_(True))
            .order_by(Workflow.created_at, Workflow.id)
        )
    ).all()
    return [LivePublicWorkflow(row[0], _stored_slots(row[1])) for row in rows]


def _stored_slots(settings: dict[str, Any] | None) -> list[DataSlot]:
    # Validated when saved; a slot that no longer parses is skipped rather than failing a read.
    slots = []
    for item in (settings or {}).get("data_slots") or []:
        try:
            slots.append(DataSlot.model_validate(item))
        except ValidationError:
            continue
    return slots


async def get_public_workflow(
    scope: OrgScope, workflow_id: str, *, session: AsyncSession
) -> Workflow:
    """One of the org's public workflows (in the scope's environment), or 404."""
    workflow = None
    if is_id(workflow_id):
        workflow = await session.scalar(
            scoped_select(Workflow, PublicScope(scope.org_id, scope.environment)).where(
                Workflow.id == workflow_id
            )
        )
    if workflow is None:
        raise NotFound(f"Workflow {workflow_id} not found", error_code="WORKFLOW_NOT_FOUND")
    return workflow
