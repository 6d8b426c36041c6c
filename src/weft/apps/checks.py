"""Publish-time checks that need the org's catalog: unknown apps and actions, dataslots.

Private workflows have no user config, so dataslots cannot be used in them (Refold's rule);
saying so at publish beats a run that fails on a missing value.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from weft.apps.catalog import resolve_app, resolve_definition
from weft.apps.model import AppDefinition
from weft.errors import NotFound
from weft.nodes import KINDS, Role, has_role
from weft.store.scope import OrgScope, Scope
from weft.store.tables import Workflow
from weft.workflows.graph import Graph, GraphProblem, NodeIn

DATASLOTS = re.compile(r"\b(data_?slots?|dataslots?)\b", re.IGNORECASE)
DATASLOTS_MESSAGE = (
    "private workflows cannot use dataslots: user config exists only for public workflows; "
    "pass the value in the trigger payload (or an earlier node's output) instead"
)


def _say(node: NodeIn, field: str | None, code: str, detail: str) -> GraphProblem:
    label = f"{field}: {detail}" if field else detail
    return GraphProblem(node.id, field, code, f'Node "{node.name}" ({node.id}): {label}')


def _strings(value: Any, path: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _strings(v, f"{path}.{k}".lstrip("."))]
    if isinstance(value, list):
        return [pair for i, v in enumerate(value) for pair in _strings(v, f"{path}[{i}]")]
    return []


def _dataslot_problems(node: NodeIn) -> list[GraphProblem]:
    problems = []
    for field, text in _strings(node.data or {}, ""):
        # Only inside `{{ }}` or an expression-looking string: prose may say "dataslot".
        if "{{" in text and DATASLOTS.search(text.split("{{", 1)[1]):
            problems.append(_say(node, field, "DATA_SLOTS_NOT_ALLOWED", DATASLOTS_MESSAGE))
    return problems


async def app_problems(
    org_id: str,
    graph: Graph,
    workflow_app: str,
    *,
    private: bool = True,
    session: AsyncSession,
) -> list[GraphProblem]:
    """Problems publishing would meet: unknown apps or actions; dataslots in a private one."""
    cache: dict[str, AppDefinition | None] = {}

    async def definition(slug: str) -> AppDefinition | None:
        if slug not in cache:
            try:
                cache[slug] = await resolve_definition(org_id, slug, session=session)
            except NotFound:
                cache[slug] = None
        return cache[slug]

    problems: list[GraphProblem] = []
    for node in graph.nodes:
        if private:
            problems += _dataslot_problems(node)
        data = node.data or {}
        kind = KINDS.get(node.type)
        refers = kind.app_reference if kind is not None else None
        if refers == "action" and isinstance(data.get("action"), str):
            slug = data.get("app") or workflow_app
            if not isinstance(slug, str):
                continue
            found = await definition(slug)
            if found is None:
                problems.append(
                    _say(node, "app", "UNKNOWN_APP", f'app "{slug}" is not in the catalog')
                )
            elif (action := found.action(data["action"])) is None:
                known = ", ".join(action.name for action in found.actions) or "none"
                detail = f'app "{slug}" has no action "{data["action"]}" (known: {known})'
                problems.append(_say(node, "action", "UNKNOWN_ACTION", detail))
            elif data.get("all_pages") is True and found.pagination_of(action) is None:
                detail = f"{slug}.{action.name} does not page: leave all_pages unset"
                problems.append(_say(node, "all_pages", "ACTION_DOES_NOT_PAGE", detail))
        if has_role(node.type, Role.START) and data.get("trigger") == "app":
            problems += _app_trigger_problems(node, await definition(str(data.get("app"))))
        connection = data.get("connection") if refers == "connection" else None
        if isinstance(connection, str) and await definition(connection) is None:
            detail = f'app "{connection}" is not in the catalog'
            problems.append(_say(node, "connection", "UNKNOWN_APP", detail))
    return problems


def _app_trigger_problems(node: NodeIn, found: AppDefinition | None) -> list[GraphProblem]:
    data = node.data or {}
    if found is None:
        return [_say(node, "app", "UNKNOWN_APP", f'app "{data.get("app")}" is not in the catalog')]
    trigger = found.trigger(str(data.get("app_trigger")))
    if trigger is None:
        known = ", ".join(t.name for t in found.triggers) or "none"
        detail = f'app "{found.slug}" has no trigger "{data.get("app_trigger")}" (known: {known})'
        return [_say(node, "app_trigger", "UNKNOWN_TRIGGER", detail)]
    needed = (
        trigger.subscribe.user_params if trigger.kind == "webhook" and trigger.subscribe else []
    )
    params = data.get("params") or {}
    return [
        _say(node, f"params.{name}", "MISSING_TRIGGER_PARAM", f"the trigger needs {name!r}")
        for name in needed
        if name not in params
    ]


async def catalog_problems(
    scope: OrgScope, workflow: Workflow, graph: Graph, *, session: AsyncSession
) -> list[GraphProblem]:
    """Catalog problems of a workflow's graph (its app is the default for app_action nodes)."""
    app = await resolve_app(scope.org_id, app_id=workflow.app_id, session=session)
    private = isinstance(scope, Scope)  # public workflows read dataslots through their config
    return await app_problems(scope.org_id, graph, app.slug, private=private, session=session)
