"""Inbound webhooks: `/hooks/{secret}` starts the workflow whose start node is a webhook."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from weft.api.deps import app_state, count_failed_attempt, count_webhook_call
from weft.api.routing import DirectRoute, Router
from weft.api.runs import StartedOut, sync_response
from weft.api.schemas import ERROR_RESPONSES, ErrorOut
from weft.engine.runs import lifecycle
from weft.engine.starts import triggers
from weft.engine.starts.trigger_output import webhook_output
from weft.engine.workers import waiting
from weft.errors import NotFound
from weft.redaction import redact_mapping
from weft.store.json_codec import parse_json
from weft.workflows import service
from weft.workflows.pauses import refuse_if_paused

router = Router(tags=["webhooks"], responses=ERROR_RESPONSES)

# Credentials a caller may send along are never handed to the workflow (or stored in its input):
# these are dropped, and other credential-like headers and query values are redacted.
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "x-api-key", "proxy-authorization"})


async def _payload(request: Request) -> Any:
    raw = await request.body()
    body: Any = None
    if raw:
        try:
            body = parse_json(raw)
        except ValueError:
            body = raw.decode(errors="replace")
    return webhook_output(
        body,
        query=redact_mapping(dict(request.query_params)),
        headers=redact_mapping(
            {k: v for k, v in request.headers.items() if k not in _CREDENTIAL_HEADERS}
        ),
        method=request.method,
    )


async def inbound_webhook(request: Request) -> Response:
    """Async hooks answer 202 with the execution id; sync hooks answer with the respond node."""
    # Served as a DirectRoute: the path's secret and the services are read here, not solved.
    secret: str = request.path_params["secret"]
    services = app_state(request.app).services
    try:
        hook = await service.live_webhook(services.db, secret)
    except NotFound:
        # A wrong secret is a failed credential: guessing is throttled per source address, as
        # for keys (429 past the allowance), while live hooks keep being served from there.
        await count_failed_attempt(request)
        raise
    refuse_if_paused(hook.workflow)
    # Each live hook has its own allowance, so one leaked URL cannot start runs without bound.
    await count_webhook_call(request, secret)
    scope = hook.scope
    payload = await _payload(request)
    row = triggers.execution_row(scope, hook.workflow, trigger="webhook", payload=payload)
    run = await lifecycle.start_run(services, row)
    if not hook.sync:
        return _accepted(await run.durable_id())
    done = await waiting.wait_for_answer(services, scope, run, until_response=True)
    return sync_response(done, done.id, accepted=lambda: _accepted(done.id), respond_as_sent=True)


def _accepted(execution_id: str) -> JSONResponse:
    return JSONResponse(
        {"message": "Workflow execution started", "execution_id": execution_id}, status_code=202
    )


_WEBHOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Sync webhook: the respond node's status, headers and body (any JSON)",
        "content": {"application/json": {"schema": {"description": "Any JSON"}}},
        "headers": {"x-execution-id": {"schema": {"type": "string"}}},
    },
    202: {"model": StartedOut, "description": "Async webhook (or sync past the bound)"},
    422: {"model": ErrorOut, "description": "Sync webhook: the run failed"},
}
_SECRET = {
    "parameters": [
        {
            "name": "secret",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "title": "Secret"},
        }
    ]
}
_ANY_BODY = {
    **_SECRET,
    "requestBody": {
        "required": False,
        "description": "Any body: JSON is parsed, anything else is kept as text; it becomes "
        "`trigger.body`, beside `trigger.query`, `trigger.headers` and `trigger.method`",
        "content": {"application/json": {"schema": {}}, "text/plain": {"schema": {}}},
    },
}

for _method in ("POST", "GET", "PUT", "PATCH", "DELETE"):
    router.add_api_route(
        "/hooks/{secret}",
        inbound_webhook,
        methods=[_method],
        operation_id=f"inbound_webhook_{_method.lower()}",
        summary=f"Inbound webhook trigger ({_method})",
        response_model=None,
        responses=_WEBHOOK_RESPONSES,
        openapi_extra=_ANY_BODY if _method != "GET" else _SECRET,
        route_class_override=DirectRoute,
    )
