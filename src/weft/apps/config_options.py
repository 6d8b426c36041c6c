"""Dynamic options: a config field's (a select's or map's) or an app action parameter's
(`x-weft-options`, weft.apps.param_options) choices, loaded live from the linked account's
connected app through the app gateway (the same path an app_action node takes).

Loaded options are kept briefly per (linked account, app, workflow or action, field) so a page
that shows a config or a step does not call the app on every render; `refresh` skips the kept
copy. A failure (not connected, the app refused, an answer without a list) becomes an error the
answer shows, so a config can still be read while its app is disconnected; failures are not
kept.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from weft.apps.gateway import AppGateway, GatewayServices, Outbound
from weft.apps.paging import items_at, value_at
from weft.apps.param_options import OPTIONS_KEY, filled_params, parse_source, schema_at
from weft.errors import NotFound, WeftError
from weft.nodes.runtime import NodeFailure
from weft.store.scope import Scope
from weft.workflows.public import DataSlot, DynamicOptions

CACHE_TTL_S = 60.0
CACHE_ENTRIES = 2_000
MAX_OPTIONS = 1_000
MAX_PAGES = 10
TIMEOUT_S = 20.0


@dataclass(frozen=True)
class FieldOptions:
    """A field's loaded options, or why there are none (`{error_code, message}`)."""

    options: list[dict[str, Any]] | None
    error: dict[str, str] | None = None
    more: bool = False  # the app had more than MAX_OPTIONS (or MAX_PAGES pages of) items


class OptionsUnavailable(WeftError):
    """A field's options were asked for and could not be loaded: 400 `CONNECTION_REQUIRED`
    (connect the app first), else 502 `APP_CALL_FAILED` (the app failed or refused)."""

    status_code = 502
    error_code = "APP_CALL_FAILED"

    @classmethod
    def of(cls, field_id: str, found: FieldOptions) -> OptionsUnavailable:
        error = found.error or {}
        code = error.get("error_code", cls.error_code)
        raised = cls(
            f"Options of {field_id}: {error.get('message', 'not loaded')}", error_code=code
        )
        if code == "CONNECTION_REQUIRED":
            raised.status_code = 400
        return raised


CacheKey = tuple[str, str, str, str, str, str]
_cache: OrderedDict[CacheKey, tuple[float, FieldOptions]] = OrderedDict()


def _remember(key: CacheKey, found: FieldOptions) -> None:
    _cache[key] = (time.monotonic() + CACHE_TTL_S, found)
    _cache.move_to_end(key)
    while len(_cache) > CACHE_ENTRIES:
        _cache.popitem(last=False)


def _kept(key: CacheKey) -> FieldOptions | None:
    entry = _cache.get(key)
    if entry is None or entry[0] < time.monotonic():
        return None
    return entry[1]


def _text(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) else None


def _option(item: Any, value_path: str, label_path: str | None) -> dict[str, Any] | None:
    value = _text(value_at(item, value_path))
    if value is None:
        return None
    label = _text(value_at(item, label_path)) if label_path else None
    return {"name": str(label if label is not None else value), "value": value}


@dataclass
class OptionLoader:
    """Loads dynamic options for one linked account, with the org's outbound client."""

    services: GatewayServices
    outbound: Outbound
    scope: Scope

    async def load(
        self, app_slug: str, workflow_id: str, slot: DataSlot, *, refresh: bool = False
    ) -> FieldOptions | None:
        """The slot's options (None when it declares no dynamic options)."""
        source = slot.dynamic_options
        if source is None:
            return None
        slug = source.app or app_slug
        gateway = self._gateway(workflow_id)
        return await self._load(slug, source, gateway, (workflow_id, slot.name), refresh=refresh)

    async def load_param(
        self,
        app_slug: str,
        action_name: str,
        path: str,
        values: dict[str, Any],
        *,
        refresh: bool = False,
    ) -> FieldOptions | None:
        """The options of parameter `path` of an action, given the form's other `values`
        (None when the parameter declares none; NotFound for an unknown app or action)."""
        gateway = self._gateway("")
        try:
            definition = await gateway.definition(app_slug)
        except NodeFailure as failure:
            raise NotFound(failure.message, error_code="APP_NOT_FOUND") from None
        action = definition.action(action_name)
        if action is None:
            raise NotFound(
                f"App {app_slug} has no action {action_name!r}", error_code="ACTION_NOT_FOUND"
            )
        raw = (schema_at(action.parameters, path) or {}).get(OPTIONS_KEY)
        if raw is None:
            return None
        try:
            source = parse_source(raw)
        except ValueError as error:  # checked when written; a row from before the check
            return FieldOptions(None, {"error_code": "INVALID_OPTIONS", "message": str(error)})
        params = filled_params(source, values)
        if isinstance(params, str):
            return FieldOptions(None, {"error_code": "OPTIONS_NEED_VALUE", "message": params})
        source = source.model_copy(update={"params": params})
        tail = (f"{action_name}.{path}", json.dumps(params, sort_keys=True, default=str))
        return await self._load(app_slug, source, gateway, tail, refresh=refresh)

    async def _load(
        self,
        slug: str,
        source: DynamicOptions,
        gateway: AppGateway,
        tail: tuple[str, str],
        *,
        refresh: bool,
    ) -> FieldOptions:
        scope = self.scope
        key = (scope.org_id, scope.environment, scope.linked_account_pk, slug, *tail)
        if not refresh and (kept := _kept(key)) is not None:
            return kept
        try:
            found = await self._fetch(slug, source, gateway)
        except NodeFailure as failure:
            # Not kept: the next read asks again (the account may connect in between).
            code = failure.details.get("error_code") or "APP_CALL_FAILED"
            return FieldOptions(None, {"error_code": str(code), "message": failure.message})
        _remember(key, found)
        return found

    def _gateway(self, workflow_id: str) -> AppGateway:
        scope = self.scope
        return AppGateway(
            self.services, scope.org_id, scope.environment, scope.linked_account_pk, workflow_id
        )

    async def _fetch(self, slug: str, source: DynamicOptions, gateway: AppGateway) -> FieldOptions:
        definition = await gateway.definition(slug)
        action = definition.action(source.action)
        if action is None:
            raise NodeFailure(f"App {slug} has no action {source.action!r}")
        label = f"{slug}.{source.action}"
        items: list[Any] = []
        more = False
        if definition.pagination_of(action) is not None and source.items is None:
            pages = await gateway.pages(
                slug,
                source.action,
                dict(source.params),
                outbound=self.outbound,
                timeout_s=TIMEOUT_S,
                max_pages=MAX_PAGES,
            )
            async with aclosing(pages):
                async for page in pages:
                    items += page.items
                    more = page.more
                    if len(items) >= MAX_OPTIONS:
                        break
        else:
            call = await gateway.call_action(
                slug,
                source.action,
                dict(source.params),
                outbound=self.outbound,
                timeout_s=TIMEOUT_S,
            )
            items = items_at(call.output, source.items or action.items or "$", label)
        if len(items) > MAX_OPTIONS:
            items, more = items[:MAX_OPTIONS], True
        options = [o for item in items if (o := _option(item, source.value, source.label))]
        return FieldOptions(options, more=more)
