"""A linked account's configs of an app: which public workflows run, with which values.

A linked account may hold several configs of one app (Refold's `config_id`); without an id the
app's default config is meant, whose id is the app's slug. A config lists every published public
workflow of its app: each is disabled until the linked account enables it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from weft.apps.catalog import resolve_app
from weft.apps.config_options import FieldOptions, OptionLoader
from weft.clock import now
from weft.errors import Conflict, InvalidInput, NotFound
from weft.ids import new_id
from weft.store.scope import Scope, scope_columns, scoped_select
from weft.store.tables import App, Config, Workflow
from weft.workflows.live_cache import LIVE_STARTS
from weft.workflows.public import DataSlot, LivePublicWorkflow, live_public_workflows

MAX_CONFIG_ID_LENGTH = 200
MAX_FIELDS = 100
MAX_LABELS = 500
Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class ConfigView:
    """A config with its app and the app's live public workflows, as the SDK shows it."""

    config: Config
    app: App
    workflows: list[LivePublicWorkflow]
    # Loaded dynamic options by (workflow id, slot name): see `load_options`.
    options: dict[tuple[str, str], FieldOptions] = field(default_factory=dict)

    def labels_of(self, slot: DataSlot) -> list[dict[str, Any]]:
        """A map slot's labels (the SaaS's fields): its own, else the config's."""
        if slot.field_type != "map":
            return []
        return list(slot.labels if slot.labels is not None else self.config.labels or [])

    def enabled(self, workflow_id: str) -> bool:
        """Whether the linked account turned this public workflow on."""
        return bool((self.config.workflows or {}).get(workflow_id, {}).get("enabled"))

    def slot_values(self, workflow: LivePublicWorkflow) -> dict[str, Any]:
        """The dataslot values a run sees: what the account filled in, else the default."""
        filled = (self.config.workflows or {}).get(workflow.workflow.id, {}).get("fields") or {}
        return {s.name: filled.get(s.name, s.default) for s in workflow.data_slots}

    def field_errors(self) -> list[dict[str, str]]:
        """Required dataslots of enabled workflows that hold no value."""
        errors = []
        for item in self.workflows:
            if not self.enabled(item.workflow.id):
                continue
            values = self.slot_values(item)
            for slot in item.data_slots:
                if slot.required and values.get(slot.name) in (None, ""):
                    errors.append(
                        {
                            "workflow_id": item.workflow.id,
                            "field": slot.name,
                            "message": f"{slot.label or slot.name} is required",
                        }
                    )
        return errors


def _config_id(app: App, config_id: str | None) -> str:
    if config_id is None or config_id == "":
        return app.slug
    if not isinstance(config_id, str) or len(config_id) > MAX_CONFIG_ID_LENGTH:
        raise InvalidInput(f"config_id must be a string of at most {MAX_CONFIG_ID_LENGTH} chars")
    return config_id


async def _find(scope: Scope, app: App, config_id: str, *, session: AsyncSession) -> Config | None:
    return await session.scalar(
        scoped_select(Config, scope).where(Config.app_id == app.id, Config.config_id == config_id)
    )


async def _view(scope: Scope, config: Config, app: App, *, session: AsyncSession) -> ConfigView:
    return ConfigView(config, app, await live_public_workflows(scope, app.id, session=session))


def _not_found(slug: str, config_id: str) -> NotFound:
    return NotFound(
        f"Config {config_id} of application {slug} not found", error_code="CONFIG_NOT_FOUND"
    )


async def upsert_config(
    scope: Scope,
    slug: str,
    *,
    config_id: str | None,
    labels: list[dict[str, Any]] | None,
    session: AsyncSession,
) -> ConfigView:
    """The config, created (all public workflows off) when it does not exist yet."""
    app = await resolve_app(scope.org_id, slug=slug, session=session)
    key = _config_id(app, config_id)
    if labels is not None and len(labels) > MAX_LABELS:
        raise InvalidInput(f"labels holds more than {MAX_LABELS} items")
    config = await _find(scope, app, key, session=session)
    moment = now()
    if config is None:
        config = Config(
            id=new_id(),
            app_id=app.id,
            config_id=key,
            fields={},
            workflows={},
            labels=labels or [],
            created_at=moment,
            updated_at=moment,
            **scope_columns(scope),
        )
        session.add(config)
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError:
            # A concurrent call created the same config first: answer that one.
            config = await _find(scope, app, key, session=session)
            if config is None:
                raise Conflict("The config changed concurrently; retry") from None
    elif labels is not None:
        config.labels = labels
        config.updated_at = moment
        await session.flush()
    return await _view(scope, config, app, session=session)


async def get_config(
    scope: Scope, slug: str, config_id: str | None, *, session: AsyncSession
) -> ConfigView:
    """One of the linked account's configs, or 404."""
    app = await resolve_app(scope.org_id, slug=slug, session=session)
    key = _config_id(app, config_id)
    config = await _find(scope, app, key, session=session)
    if config is None:
        raise _not_found(slug, key)
    return await _view(scope, config, app, session=session)


async def list_configs(scope: Scope, slug: str, *, session: AsyncSession) -> list[Config]:
    """The linked account's configs of one app, oldest first."""
    app = await resolve_app(scope.org_id, slug=slug, session=session)
    stmt = scoped_select(Config, scope).where(Config.app_id == app.id)
    return list(await session.scalars(stmt.order_by(Config.created_at, Config.id)))


async def _account_configs(
    scope: Scope, slug: str | None, config_id: str | None, *, session: AsyncSession
) -> list[Config]:
    """The linked account's configs, oldest first: of app `slug` and named `config_id`, each
    when given."""
    stmt = scoped_select(Config, scope)
    if slug:
        app = await resolve_app(scope.org_id, slug=slug, session=session)
        stmt = stmt.where(Config.app_id == app.id)
    if config_id:
        stmt = stmt.where(Config.config_id == config_id)
    return list(await session.scalars(stmt.order_by(Config.created_at, Config.id)))


def _label_key(label: dict[str, Any]) -> Any:
    return label.get("value", label.get("name"))


def _check_map(value: Any, labels: list[dict[str, Any]], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{where} must be an object mapping labels to options")
    known = {str(_label_key(label)) for label in labels}
    for key, mapped in value.items():
        if key not in known:
            raise InvalidInput(
                f"{where}.{key}: not one of the field's labels ({', '.join(sorted(known))})",
                error_code="INVALID_LABEL",
            )
        if mapped is not None and not isinstance(mapped, str | int | float | bool):
            raise InvalidInput(f"{where}.{key} must be an option's value")
        if isinstance(mapped, str) and len(mapped) > 1000:
            raise InvalidInput(f"{where}.{key} is longer than 1000 characters")
    return value


def _check_value(
    value: Any, slot: DataSlot | None, where: str, labels: list[dict[str, Any]] | None = None
) -> Any:
    if value is None:
        return None
    kind = slot.field_type if slot else "text"
    if kind == "json":
        return value
    if kind == "map":
        return _check_map(value, labels or [], where)
    if isinstance(value, dict | list):
        raise InvalidInput(f"{where} must be a string, number or boolean")
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise InvalidInput(f"{where} must be a number")
    if kind == "boolean" and not isinstance(value, bool):
        raise InvalidInput(f"{where} must be true or false")
    # Dynamic options are the app's, loaded live: a value is not checked against them here.
    if kind == "select" and slot and slot.options is not None and slot.dynamic_options is None:
        allowed = [o.get("value", o.get("name")) for o in slot.options]
        if value not in allowed:
            raise InvalidInput(f"{where} must be one of the slot's options")
    if isinstance(value, str) and len(value) > 10_000:
        raise InvalidInput(f"{where} is longer than 10000 characters")
    return value


def _check_fields(fields: dict[str, Any], where: str) -> dict[str, Any]:
    if len(fields) > MAX_FIELDS:
        raise InvalidInput(f"{where} holds more than {MAX_FIELDS} values")
    for name in fields:
        if not isinstance(name, str) or not 0 < len(name) <= 100:
            raise InvalidInput(f"{where}: field names are 1 to 100 characters")
    return {name: _check_value(value, None, f"{where}.{name}") for name, value in fields.items()}


async def update_config(
    scope: Scope,
    slug: str,
    *,
    config_id: str | None,
    fields: dict[str, Any] | None,
    workflows: list[dict[str, Any]] | None,
    session: AsyncSession,
) -> ConfigView:
    """Set app-level values, and enable/disable public workflows and fill their dataslots."""
    view = await get_config(scope, slug, config_id, session=session)
    config = view.config
    if fields is not None:
        config.fields = {**(config.fields or {}), **_check_fields(fields, "fields")}
    if workflows is not None:
        live = {item.workflow.id: item for item in view.workflows}
        stored = dict(config.workflows or {})
        for index, entry in enumerate(workflows):
            where = f"workflows[{index}]"
            item = live.get(str(entry.get("id")))
            if item is None:
                raise InvalidInput(
                    f"{where}.id: no published public workflow {entry.get('id')} of {slug}",
                    error_code="INVALID_WORKFLOW_ID",
                )
            slots = {s.name: s for s in item.data_slots}
            current = dict(stored.get(item.workflow.id) or {"enabled": False, "fields": {}})
            if "enabled" in entry:
                if not isinstance(entry["enabled"], bool):
                    raise InvalidInput(f"{where}.enabled must be true or false")
                current["enabled"] = entry["enabled"]
            values = dict(current.get("fields") or {})
            for name, value in (entry.get("fields") or {}).items():
                slot = slots.get(name)
                if slot is None:
                    raise InvalidInput(
                        f"{where}.fields.{name}: the workflow has no such dataslot",
                        error_code="INVALID_DATA_SLOT",
                    )
                values[name] = _check_value(
                    value, slot, f"{where}.fields.{name}", view.labels_of(slot)
                )
            current["fields"] = values
            stored[item.workflow.id] = current
        config.workflows = stored
    await _changed(config, session)
    return view


async def delete_config(
    scope: Scope, slug: str, config_id: str | None, *, session: AsyncSession
) -> str:
    """Delete a config (its public workflows stop running for this account); returns its id."""
    view = await get_config(scope, slug, config_id, session=session)
    await session.execute(delete(Config).where(Config.id == view.config.id))
    LIVE_STARTS.forget_all()
    return view.config.config_id


async def _changed(config: Config, session: AsyncSession) -> None:
    """Write a config's change; the events it enables may start other runs now (LIVE_STARTS)."""
    config.updated_at = now()
    await session.flush()
    LIVE_STARTS.forget_all()


async def config_for_run(
    scope: Scope, workflow: Workflow, config_id: str | None, *, session: AsyncSession
) -> tuple[str, dict[str, Any]]:
    """The config a public workflow's execute call runs with, and the values the run sees."""
    app = await session.get(App, workflow.app_id)
    assert app is not None
    view = await get_config(scope, app.slug, config_id, session=session)
    item = next((w for w in view.workflows if w.workflow.id == workflow.id), None)
    if item is None or not view.enabled(workflow.id):
        raise InvalidInput(
            f"Workflow {workflow.id} is not enabled in config {view.config.config_id}",
            error_code="WORKFLOW_NOT_ENABLED",
        )
    return view.config.config_id, run_values(view, item)


def run_values(view: ConfigView, item: LivePublicWorkflow) -> dict[str, Any]:
    """What a run reads as `config`: the config id, app-level fields and dataslot values."""
    return {
        "config_id": view.config.config_id,
        "fields": dict(view.config.fields or {}),
        "data_slots": view.slot_values(item),
    }


async def enabled_for_event(
    scope: Scope,
    event: str,
    *,
    slug: str | None,
    config_id: str | None,
    session: AsyncSession,
) -> list[tuple[Workflow, str, dict[str, Any]]]:
    """Public workflows listening to `event` that this account's configs enable, with values."""
    configs = await _account_configs(scope, slug, config_id, session=session)
    if config_id and not configs:
        raise _not_found(slug or "any", config_id)
    runs: list[tuple[Workflow, str, dict[str, Any]]] = []
    for config in configs:
        if not any((v or {}).get("enabled") for v in (config.workflows or {}).values()):
            continue
        app = await session.get(App, config.app_id)
        assert app is not None
        view = await _view(scope, config, app, session=session)
        for item in view.workflows:
            wf = item.workflow
            if view.enabled(wf.id) and wf.trigger == "event" and wf.trigger_event == event:
                runs.append((wf, config.config_id, run_values(view, item)))
    return runs


async def load_options(
    view: ConfigView,
    loader: OptionLoader,
    *,
    refresh: bool = False,
    only: tuple[str, str] | None = None,
) -> ConfigView:
    """Fill `view.options` for its slots with dynamic options (calls the app; no session held).

    `only` = (workflow id, slot name) loads just that one."""
    for item in view.workflows:
        for slot in item.data_slots:
            key = (item.workflow.id, slot.name)
            if slot.dynamic_options is None or (only is not None and key != only):
                continue
            found = await loader.load(view.app.slug, item.workflow.id, slot, refresh=refresh)
            if found is not None:
                view.options[key] = found
    return view


@dataclass(frozen=True)
class FieldAddress:
    """Which config field a caller means: its app, config (None: the default one), id, and
    the public workflow whose dataslot it is (None: whichever has it, or an app-level field)."""

    slug: str
    config_id: str | None
    field_id: str
    workflow_id: str | None


@dataclass(frozen=True)
class FieldRef:
    """One field of a config: a public workflow's dataslot, or an app-level value."""

    field_id: str
    workflow: LivePublicWorkflow | None
    slot: DataSlot | None


def _field_not_found(field_id: str) -> NotFound:
    return NotFound(f"Config field {field_id} not found", error_code="FIELD_NOT_FOUND")


def locate_field(view: ConfigView, field_id: str, workflow_id: str | None) -> FieldRef:
    """The field `field_id` names: a dataslot of `workflow_id` (or of the one live workflow
    declaring it), else an app-level field of the config."""
    if workflow_id:
        item = next((w for w in view.workflows if w.workflow.id == workflow_id), None)
        if item is None:
            raise NotFound(
                f"No published public workflow {workflow_id} of {view.app.slug}",
                error_code="WORKFLOW_NOT_FOUND",
            )
        slot = next((s for s in item.data_slots if s.name == field_id), None)
        if slot is None:
            raise _field_not_found(field_id)
        return FieldRef(field_id, item, slot)
    found = [
        FieldRef(field_id, item, slot)
        for item in view.workflows
        for slot in item.data_slots
        if slot.name == field_id
    ]
    if len(found) > 1:
        raise InvalidInput(
            f"Several public workflows have a field {field_id}: name one with workflow_id",
            error_code="AMBIGUOUS_FIELD",
        )
    if found:
        return found[0]
    return FieldRef(field_id, None, None)


async def get_field(
    scope: Scope, address: FieldAddress, *, session: AsyncSession
) -> tuple[ConfigView, FieldRef]:
    """One field of a config (404 for an unknown one)."""
    view = await get_config(scope, address.slug, address.config_id, session=session)
    ref = locate_field(view, address.field_id, address.workflow_id)
    if ref.slot is None and address.field_id not in (view.config.fields or {}):
        raise _field_not_found(address.field_id)
    return view, ref


async def set_field(
    scope: Scope, address: FieldAddress, value: Any, *, session: AsyncSession
) -> tuple[ConfigView, FieldRef]:
    """Set one field's value: a dataslot's (checked against its type) or an app-level one."""
    view = await get_config(scope, address.slug, address.config_id, session=session)
    field_id = address.field_id
    ref = locate_field(view, field_id, address.workflow_id)
    config = view.config
    if ref.workflow is None or ref.slot is None:
        config.fields = {**(config.fields or {}), **_check_fields({field_id: value}, "fields")}
    else:
        checked = _check_value(value, ref.slot, "value", view.labels_of(ref.slot))
        _store_slot_value(config, ref.workflow.workflow.id, field_id, checked, clear=False)
    await _changed(config, session)
    return view, ref


async def clear_field(
    scope: Scope, address: FieldAddress, *, session: AsyncSession
) -> tuple[ConfigView, FieldRef]:
    """Forget one field's value: a dataslot goes back to its default, an app-level field away."""
    view, ref = await get_field(scope, address, session=session)
    field_id = address.field_id
    config = view.config
    if ref.workflow is None or ref.slot is None:
        config.fields = {k: v for k, v in (config.fields or {}).items() if k != field_id}
    else:
        _store_slot_value(config, ref.workflow.workflow.id, field_id, None, clear=True)
    await _changed(config, session)
    return view, ref


def _store_slot_value(
    config: Config, workflow_id: str, name: str, value: Any, *, clear: bool
) -> None:
    stored = dict(config.workflows or {})
    current = dict(stored.get(workflow_id) or {"enabled": False, "fields": {}})
    values = dict(current.get("fields") or {})
    if clear:
        values.pop(name, None)
    else:
        values[name] = value
    current["fields"] = values
    stored[workflow_id] = current
    config.workflows = stored


async def enabled_workflows(
    scope: Scope, *, slug: str | None, config_id: str | None, session: AsyncSession
) -> list[tuple[ConfigView, LivePublicWorkflow]]:
    """The public workflows the linked account's configs enable (of `slug`, in `config_id`)."""
    found: list[tuple[ConfigView, LivePublicWorkflow]] = []
    for config in await _account_configs(scope, slug, config_id, session=session):
        app = await session.get(App, config.app_id)
        assert app is not None
        view = await _view(scope, config, app, session=session)
        found += [(view, item) for item in view.workflows if view.enabled(item.workflow.id)]
    return found
