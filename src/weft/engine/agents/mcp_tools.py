"""The tools of a linked account's MCP server, and calling one.

Direct mode: one tool per offered action (`{slug}__{action}`: input schema = the action's
parameters, description from its label, description and effect) and per offered workflow
(`workflow__{id}`: input schema from the live version's request structure, description from the
workflow's; runs the published workflow with the arguments as its payload and answers what it
returns; arguments of the wrong shape are refused with the reasons, nothing run). Agent mode:
two tools, `RESOLVE_ACTIONS` (find offered actions by words, with their input schemas) and
`EXECUTE_ACTION` (run one by app and action id). A read-only server offers no write action in
either mode.

Every call goes through `direct_actions.execute_action` (the app_action node's path, audited)
or the execute path of workflows, and is written to the server's call log.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, select

from weft.apps import mcp_servers
from weft.apps.json_schema import value_problems
from weft.apps.mcp_servers import Authenticated
from weft.apps.model import Action, AppDefinition
from weft.engine.agents.direct_actions import app_definition, execute_action, tool_description
from weft.engine.runs import states
from weft.engine.starts import triggers
from weft.engine.starts.trigger_output import sample_output
from weft.engine.workers import waiting
from weft.engine.workers.services import Services
from weft.errors import WeftError
from weft.store.tables import Workflow, WorkflowVersion
from weft.tenancy.audit import Actor
from weft.workflows.request_schema import input_schema_of
from weft.workflows.trigger_index import start_config

RESOLVE = "RESOLVE_ACTIONS"
EXECUTE = "EXECUTE_ACTION"
WORKFLOW_PREFIX = "workflow__"
RESOLVED_AT_MOST = 10


class ToolError(Exception):
    """A tool call that did not succeed: the text the model reads (`isError: true`)."""


@dataclass(frozen=True)
class Tool:
    """One tool as the protocol lists it, and what calling it does."""

    name: str
    description: str
    input_schema: dict[str, Any]
    read_only: bool
    slug: str | None = None
    action: str | None = None
    workflow_id: str | None = None


@dataclass(frozen=True)
class OfferedWorkflow:
    """A published workflow a server offers, and the arguments its live version takes."""

    workflow: Workflow
    input_schema: dict[str, Any]


@dataclass
class Offer:
    """What a server offers its account: actions by (slug, name) and published workflows."""

    actions: dict[tuple[str, str], tuple[AppDefinition, Action]] = field(default_factory=dict)
    workflows: list[OfferedWorkflow] = field(default_factory=list)


def _input_schema(nodes: list[dict[str, Any]] | None) -> dict[str, Any]:
    # What the execute path's payload stands for: the trigger's output for its sample.
    data = start_config(nodes or [])
    return input_schema_of(sample_output(data.get("trigger", "manual"), data.get("sample_payload")))


async def offer_of(services: Services, found: Authenticated) -> Offer:
    """The server's actions (write actions left out when read-only) and workflows."""
    server, scope = found.server, found.scope
    offer = Offer()
    workflow_ids: list[str] = []
    for entry in server.associated_apps or []:
        try:
            definition = await app_definition(services, scope.org_id, entry["slug"])
        except WeftError:
            continue  # an app removed since: offered no more
        named = [item["id"] for item in entry.get("actions") or []]
        for action in definition.actions:
            if named and action.name not in named:
                continue
            if action.deprecated or (server.read_only and action.effect != "read"):
                continue
            offer.actions[(definition.slug, action.name)] = (definition, action)
        workflow_ids += [str(item["id"]) for item in entry.get("workflows") or [] if "id" in item]
    if workflow_ids and not server.read_only:  # a workflow may write: withheld when read-only
        async with services.db.reading() as session:
            rows = await session.execute(
                select(Workflow, WorkflowVersion.nodes)
                .outerjoin(
                    WorkflowVersion,
                    and_(
                        WorkflowVersion.workflow_id == Workflow.id,
                        WorkflowVersion.version == Workflow.current_version,
                    ),
                )
                .where(
                    Workflow.id.in_(workflow_ids),
                    Workflow.org_id == scope.org_id,
                    Workflow.environment == scope.environment,
                    Workflow.published.is_(True),
                    (Workflow.linked_account_pk == scope.linked_account_pk)
                    | Workflow.linked_account_pk.is_(None),
                )
            )
            offer.workflows = [OfferedWorkflow(row, _input_schema(nodes)) for row, nodes in rows]
    return offer


def _action_tool(definition: AppDefinition, action: Action) -> Tool:
    return Tool(
        name=f"{definition.slug}__{action.name}"[:128],
        description=tool_description(definition.slug, definition, action),
        input_schema=action.parameters,
        read_only=action.effect == "read",
        slug=definition.slug,
        action=action.name,
    )


def _workflow_tool(offered: OfferedWorkflow) -> Tool:
    workflow = offered.workflow
    description = f"Run the workflow {workflow.name!r}"
    if workflow.description:
        description += f": {workflow.description.strip().rstrip('.')}"
    description += (
        ". The arguments are its input (see the input schema); the answer is what the workflow "
        "returns. It may change data in the user's apps."
    )
    return Tool(
        name=f"{WORKFLOW_PREFIX}{workflow.id}",
        description=description,
        input_schema=offered.input_schema,
        read_only=False,
        workflow_id=workflow.id,
    )


def _agent_tools(offer: Offer) -> list[Tool]:
    apps = sorted({slug for slug, _ in offer.actions})
    return [
        Tool(
            name=RESOLVE,
            description=(
                "Find the actions this server can run for the user's connected apps "
                f"({', '.join(apps) or 'none'}). Give a few words of what you want to do; the "
                "answer lists matching actions with their app, action id, description and "
                f"input schema. Then call {EXECUTE} with one of them."
            ),
            input_schema={
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "What you want to do"},
                    "app": {"type": "string", "description": "Only this app's actions (slug)"},
                },
                "required": ["query"],
            },
            read_only=True,
        ),
        Tool(
            name=EXECUTE,
            description=(
                f"Run one action that {RESOLVE} found: its app slug, action id and parameters "
                "(matching its input schema). Answers the app's response."
            ),
            input_schema={
                "type": "object",
                "properties": {
                    "app": {"type": "string"},
                    "action": {"type": "string"},
                    "parameters": {"type": "object"},
                },
                "required": ["app", "action"],
            },
            read_only=False,
        ),
    ]


async def tools_of(services: Services, found: Authenticated) -> list[Tool]:
    """The tools the server lists, in its mode."""
    offer = await offer_of(services, found)
    if found.server.mode == "agent":
        return _agent_tools(offer)
    tools = [_action_tool(definition, action) for definition, action in offer.actions.values()]
    return tools + [_workflow_tool(workflow) for workflow in offer.workflows]


def _words(text: str) -> set[str]:
    return {word for word in re.split(r"[^a-z0-9]+", text.lower()) if len(word) > 1}


def resolve_actions(offer: Offer, query: str, app: str | None) -> list[dict[str, Any]]:
    """The offered actions best matching `query` (shared words in name, label, description)."""
    wanted = _words(query)
    scored = []
    for (slug, name), (definition, action) in offer.actions.items():
        if app and slug != app:
            continue
        text = f"{slug} {definition.name} {name} {action.label} {action.description}"
        score = len(wanted & _words(text))
        if score or not wanted:
            scored.append((score, slug, name, definition, action))
    scored.sort(key=lambda item: (-item[0], item[1], item[2]))
    return [
        {
            "app": slug,
            "action": name,
            "description": tool_description(slug, definition, action),
            "effect": action.effect,
            "input_schema": action.parameters,
        }
        for _, slug, name, definition, action in scored[:RESOLVED_AT_MOST]
    ]


async def call_tool(
    services: Services, found: Authenticated, name: str, arguments: dict[str, Any]
) -> Any:
    """Call tool `name`: its structured answer, or ToolError. Logged on the server."""
    started = time.perf_counter()
    app: str | None = None
    action: str | None = None
    status, http_status, error = "success", None, None
    try:
        offer = await offer_of(services, found)
        if found.server.mode == "agent" and name == RESOLVE:
            query = str(arguments.get("query") or "")
            return {"actions": resolve_actions(offer, query, arguments.get("app"))}
        if found.server.mode == "agent" and name == EXECUTE:
            app, action = str(arguments.get("app") or ""), str(arguments.get("action") or "")
            params = arguments.get("parameters") or {}
        elif found.server.mode == "direct" and name.startswith(WORKFLOW_PREFIX):
            return await _run_workflow(services, found, offer, name, arguments)
        elif found.server.mode == "direct":
            tool = next((t for t in tools_for_offer(offer) if t.name == name), None)
            if tool is None:
                raise ToolError(f"No tool {name} on this server")
            app, action, params = tool.slug, tool.action, arguments
        else:
            raise ToolError(f"No tool {name} on this server")
        if (app, action) not in offer.actions:
            raise ToolError(f"This server offers no action {action} of {app}")
        call = await execute_action(
            services,
            found.scope,
            app or "",
            action or "",
            params,
            actor=Actor(
                found.scope.org_id, found.scope.environment, "mcp_token", found.scope.account_id
            ),
            request_id=None,
            source="mcp",
            audit_target={"mcp_server_id": found.server.id},
        )
        http_status = call.http_status
        if call.node_status != "Success":
            status = "failed"
            raise ToolError(f"{app}.{action} answered {call.http_status}: {call.data}")
        return call.data
    except ToolError as failure:
        status = "failed" if status == "failed" else "error"
        error = str(failure)
        raise
    except WeftError as failure:
        status, error = "error", failure.message
        raise ToolError(failure.message) from failure
    finally:
        await mcp_servers.record_call(
            services.db,
            found.server,
            tool=name,
            app=app,
            action=action,
            arguments=arguments,
            status=status,
            http_status=http_status,
            error=error,
            duration_ms=int((time.perf_counter() - started) * 1000),
        )


def tools_for_offer(offer: Offer) -> list[Tool]:
    """Direct mode's action tools of an offer."""
    return [_action_tool(definition, action) for definition, action in offer.actions.values()]


async def _run_workflow(
    services: Services, found: Authenticated, offer: Offer, name: str, arguments: dict[str, Any]
) -> Any:
    workflow_id = name.removeprefix(WORKFLOW_PREFIX)
    offered = next((o for o in offer.workflows if o.workflow.id == workflow_id), None)
    if offered is None:
        raise ToolError(f"No tool {name} on this server")
    problems = value_problems(offered.input_schema, arguments, "arguments")
    if problems:
        raise ToolError(
            "The arguments do not match the tool's input schema (nothing was run): "
            + "; ".join(problems)
        )
    run = await triggers.start_execute(
        services, found.scope, workflow_id, arguments, config_id=None
    )
    done = await waiting.wait_for_answer(services, found.scope, run, until_response=True)
    if done.response:
        return done.response.get("body")
    if done.status == states.SUCCEEDED:
        return done.output
    if done.status in states.TERMINAL:
        raise ToolError((done.error or {}).get("message", "The workflow did not complete"))
    return {"execution_id": done.id, "status": "running"}
