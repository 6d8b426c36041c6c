"""Direct actions: one app action executed for a linked account, without a workflow.

The call takes the app_action node's path (`apps.gateway.AppGateway.call_action`: connection
lookup and OAuth2 refresh, the app's rate limits), through the org's outbound client (its
outbound policy), so a direct call and a workflow step reach an app the same way. Parameters
are checked against the action's schema first (400 with the reasons, nothing sent). Each call
is counted (`weft_direct_actions`) and recorded in the org's audit log: parameters, the request
sent and the answer, all redacted and cut to a bounded size.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from weft.apps.access import ConnectionMissing
from weft.apps.catalog import resolve_definition
from weft.apps.gateway import AppGateway
from weft.apps.json_schema import value_problems
from weft.apps.model import Action, AppDefinition
from weft.engine.interpreter.outbound import outbound_for
from weft.engine.workers.services import Services
from weft.errors import InvalidInput, NotFound, WeftError
from weft.net import OutboundError
from weft.nodes.runtime import NodeFailure
from weft.observability.metrics import observe_direct_action
from weft.redaction import redact_value
from weft.store.scope import Scope
from weft.tenancy import service as tenancy_service
from weft.tenancy.audit import Actor

AUDIT_ANSWER_CHARS = 2000  # an answer kept in the audit log is cut here
# Refold's field `type` per JSON Schema type.
_FIELD_TYPES = {
    "string": "text",
    "integer": "number",
    "number": "number",
    "boolean": "boolean",
    "array": "json",
    "object": "json",
}


class AppCallFailed(WeftError):
    """The app could not be reached (refused by the outbound policy, unreachable, timed out)."""

    status_code = 502
    error_code = "APP_CALL_FAILED"


@dataclass(frozen=True)
class DirectCall:
    """What a direct action answered, in Refold's shape: `{data, node_status, http_status}`."""

    data: Any
    node_status: str  # "Success" or "Failed"
    http_status: int

    def as_json(self) -> dict[str, Any]:
        return {"data": self.data, "node_status": self.node_status, "http_status": self.http_status}


async def app_definition(services: Services, org_id: str, slug: str) -> AppDefinition:
    """The app as the org sees it; 404 APP_NOT_FOUND when unknown."""
    async with services.db.reading() as session:
        return await resolve_definition(org_id, slug, session=session)


async def find_action(services: Services, org_id: str, slug: str, name: str) -> Action:
    """One of the app's actions; 404 ACTION_NOT_FOUND when the app has none of that name."""
    action = (await app_definition(services, org_id, slug)).action(name)
    if action is None:
        raise NotFound(f"App {slug} has no action {name}", error_code="ACTION_NOT_FOUND")
    return action


def action_summary(action: Action) -> dict[str, Any]:
    """An action as a list names it: Refold's `{id, name, description}`, plus its effect."""
    return {
        "id": action.name,
        "name": action.label,
        "description": action.description,
        "effect": action.effect,
    }


def action_fields(action: Action) -> list[dict[str, Any]]:
    """Refold's parameter list of an action: `[{name, label, required, type}]` (+ description,
    options and the JSON Schema of each parameter)."""
    schema = action.parameters
    required = set(schema.get("required", []))
    fields = []
    for name, prop in (schema.get("properties") or {}).items():
        prop = prop if isinstance(prop, dict) else {}
        kind = prop.get("type")
        entry: dict[str, Any] = {
            "name": name,
            "label": prop.get("title") or name,
            "required": name in required,
            "type": "select" if "enum" in prop else _FIELD_TYPES.get(str(kind), "json"),
        }
        if prop.get("description"):
            entry["description"] = prop["description"]
        if "enum" in prop:
            entry["options"] = list(prop["enum"])
        entry["schema"] = prop
        fields.append(entry)
    return fields


def tool_description(slug: str, definition: AppDefinition, action: Action) -> str:
    """What a model reads about an action: app, label, description and whether it changes data."""
    effect = (
        "Reads data; changes nothing."
        if action.effect == "read"
        else "Changes data in the app (creates, updates or deletes)."
    )
    text = f"{definition.name}: {action.label}."
    if action.description:
        text += f" {action.description.strip()}"
    return f"{text} {effect} ({action.method} {action.path} on {slug})"


def check_params(action: Action, params: Any) -> dict[str, Any]:
    """`params` when they satisfy the action's schema; 400 INVALID_PARAMETERS with reasons."""
    if not isinstance(params, dict):
        raise InvalidInput("The body must be a JSON object", error_code="INVALID_PARAMETERS")
    problems = value_problems(action.parameters, params, "body")
    if problems:
        raise InvalidInput(
            "Parameters do not match the action's schema: " + "; ".join(problems),
            error_code="INVALID_PARAMETERS",
            details={"reasons": problems},
        )
    return params


def _bounded(value: Any) -> Any:
    shown = redact_value(value)
    text = json.dumps(shown, default=str)
    if len(text) <= AUDIT_ANSWER_CHARS:
        return shown
    return {"truncated": True, "chars": len(text), "start": text[:AUDIT_ANSWER_CHARS]}


@dataclass
class _Record:
    """What one direct call's metric and audit row say; `shown` is the request as sent."""

    services: Services
    actor: Actor
    slug: str
    action_name: str
    params: dict[str, Any]
    request_id: str | None
    source: str
    extra: dict[str, Any] | None
    started: float = field(default_factory=time.perf_counter)
    shown: dict[str, Any] = field(default_factory=dict)

    async def done(self, outcome: str, status: int, answer: dict[str, Any]) -> None:
        """Count the call and add its audit row (parameters, request and answer redacted)."""
        observe_direct_action(self.source, outcome, time.perf_counter() - self.started)
        target = {
            "slug": self.slug,
            "action_id": self.action_name,
            "params": _bounded(self.params),
            "request": redact_value(self.shown),
            "answer": _bounded(answer),
            **(self.extra or {}),
        }
        await tenancy_service.record_change(
            self.services.db,
            self.actor,
            f"EXECUTE {self.slug}.{self.action_name}",
            target=target,
            status=status,
            request_id=self.request_id,
        )


async def _call(services: Services, scope: Scope, record: _Record) -> DirectCall:
    gateway = AppGateway(
        services, scope.org_id, scope.environment, scope.linked_account_pk, workflow_id=""
    )
    client = await outbound_for(services, scope.org_id)
    try:
        call = await gateway.call_action(
            record.slug, record.action_name, record.params, outbound=client
        )
    except NodeFailure as failure:
        record.shown = failure.details.get("request") or {}
        response = failure.details.get("response")
        if response is None:
            if failure.details.get("error_code") == ConnectionMissing.error_code:
                raise ConnectionMissing(failure.message) from failure
            raise AppCallFailed(failure.message) from failure
        return DirectCall(response.get("body"), "Failed", int(response.get("status", 502)))
    except OutboundError as error:
        raise AppCallFailed(error.message) from error
    record.shown = call.shown
    return DirectCall(call.output, "Success", 200)


async def execute_action(
    services: Services,
    scope: Scope,
    slug: str,
    action_name: str,
    params: Any,
    *,
    actor: Actor,
    request_id: str | None,
    source: str = "api",
    audit_target: dict[str, Any] | None = None,
) -> DirectCall:
    """Execute one action for the linked account: checked, called as app_action calls, counted
    and audited. An app's error answer is `node_status: Failed` with its status; an app never
    reached is 502 APP_CALL_FAILED; no connection is 400 CONNECTION_REQUIRED."""
    action = await find_action(services, scope.org_id, slug, action_name)
    checked = check_params(action, params)
    record = _Record(services, actor, slug, action_name, checked, request_id, source, audit_target)
    try:
        result = await _call(services, scope, record)
    except WeftError as error:
        answer = {"error_code": error.error_code, "message": error.message}
        await record.done("error", error.status_code, answer)
        raise
    answer = {"node_status": result.node_status, "http_status": result.http_status}
    await record.done(result.node_status.lower(), 200, {**answer, "data": result.data})
    return result
