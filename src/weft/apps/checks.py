"""Publish-time checks that need the org's catalog: unknown apps and actions, parameters that
break the action's schema, missing or expired connections, dataslots.

Private workflows have no user config, so dataslots cannot be used in them (Refold's rule);
saying so at publish beats a run that fails on a missing value. The same list is the draft's
`problems`, so the editor shows what publish would refuse while the user edits.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from weft.apps.catalog import resolve_app, resolve_definition
from weft.apps.connections import ConnectionInfo, list_connections
from weft.apps.json_schema import schema_errors
from weft.apps.model import Action, AppDefinition
from weft.errors import NotFound
from weft.nodes import KINDS, Role, has_role
from weft.store.scope import OrgScope, Scope
from weft.store.tables import Workflow
from weft.workflows.graph import Graph, GraphProblem, NodeIn

DATASLOTS = re.compile(r"\b(data_?slots?|dataslots?)\b", re.IGNORECASE)
LISTED_PARAMETER_PROBLEMS = 5  # per step
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


def _param_problems(node: NodeIn, slug: str, action: Action, params: Any) -> list[GraphProblem]:
    """`params` against the action's schema, as the call checks them (a null value counts as not
    given). A value holding `{{ }}` is only known at run time: what it breaks is left to the run."""
    if not isinstance(params, dict):
        return []
    given = {name: value for name, value in params.items() if value is not None}
    problems = []
    for where, message, instance in schema_errors(action.parameters, given, "params"):
        if isinstance(instance, str) and "{{" in instance:
            continue
        detail = f"{message} ({slug}.{action.name})"
        problems.append(_say(node, where, "INVALID_PARAMETERS", detail))
    return problems[:LISTED_PARAMETER_PROBLEMS]


def _connection_problem(
    node: NodeIn, slug: str, found: AppDefinition, connections: dict[str, ConnectionInfo] | None
) -> GraphProblem | None:
    """A private workflow runs with its linked account's connection: none, or an expired one."""
    if connections is None or found.auth_type == "none":
        return None
    connection = connections.get(slug)
    if connection is None:
        detail = f'connect {found.name} ("{slug}") before this step can run'
        return _say(node, "connection", "CONNECTION_REQUIRED", detail)
    if connection.reauth_required:
        detail = f'the {found.name} ("{slug}") connection expired: connect it again'
        return _say(node, "connection", "CONNECTION_EXPIRED", detail)
    return None


async def app_problems(
    org_id: str,
    graph: Graph,
    workflow_app: str,
    *,
    private: bool = True,
    session: AsyncSession,
    connections: dict[str, ConnectionInfo] | None = None,
) -> list[GraphProblem]:
    """Problems publishing would meet: unknown apps or actions, parameters that break the
    action's schema, dataslots in a private workflow; with `connections` (the linked account's,
    by app slug), app steps (and http/mcp steps signed by an app) whose app is not connected or
    whose connection expired."""
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
            else:
                if data.get("all_pages") is True and found.pagination_of(action) is None:
                    detail = f"{slug}.{action.name} does not page: leave all_pages unset"
                    problems.append(_say(node, "all_pages", "ACTION_DOES_NOT_PAGE", detail))
                problems += _param_problems(node, slug, action, data.get("params") or {})
                if missing := _connection_problem(node, slug, found, connections):
                    problems.append(missing)
        if has_role(node.type, Role.START) and data.get("trigger") == "app":
            problems += _app_trigger_problems(node, await definition(str(data.get("app"))))
        connection = data.get("connection") if refers == "connection" else None
        if isinstance(connection, str):
            # An http or mcp step signed by an app's connection needs it as an app step does.
            if (signer := await definition(connection)) is None:
                detail = f'app "{connection}" is not in the catalog'
                problems.append(_say(node, "connection", "UNKNOWN_APP", detail))
            elif missing := _connection_problem(node, connection, signer, connections):
                problems.append(missing)
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
    # A public workflow runs with each end user's own connection: none to check here.
    connections = (
        await list_connections(scope, session=session) if isinstance(scope, Scope) else None
    )
    return await app_problems(
        scope.org_id, graph, app.slug, private=private, session=session, connections=connections
    )
