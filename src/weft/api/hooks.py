"""Inbound webhooks: `/hooks/{secret}` starts the workflow whose start node is a webhook."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from weft.api.runs import sync_response
from weft.api.schemas import ERROR_RESPONSES
from weft.engine import lifecycle, triggers, waiting
from weft.errors import NotFound
from weft.net.redaction import redact_mapping
from weft.workflows import versions
from weft.workflows.trigger_index import start_config

router = APIRouter(tags=["webhooks"], responses=ERROR_RESPONSES)

# Credentials a caller may send along are never handed to the workflow (or stored in its input):
# these are dropped, and other credential-like headers and query values are redacted.
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "x-api-key", "proxy-authorization"})


async def _payload(request: Request) -> Any:
    raw = await request.body()
    body: Any = None
    if raw:
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode(errors="replace")
    return {
        "body": body,
        "query": redact_mapping(dict(request.query_params)),
        "headers": redact_mapping(
            {k: v for k, v in request.headers.items() if k not in _CREDENTIAL_HEADERS}
        ),
        "method": request.method,
    }


async def inbound_webhook(secret: str, request: Request) -> Response:
    """Async hooks answer 202 with the execution id; sync hooks answer with the respond node."""
    db, services = request.app.state.db, request.app.state.services
    async with db.reading() as session:
        found = await triggers.find_webhook(secret, session=session)
        if found is None or not found[1].published or found[1].trigger != "webhook":
            raise NotFound("No live webhook at this address", error_code="WEBHOOK_NOT_FOUND")
        scope, workflow = found
        live = await versions.live_version(scope, workflow, session=session)
        sync = bool(start_config(live.nodes if live else []).get("sync"))
    payload = await _payload(request)
    execution = await lifecycle.queue_runs(
        services,
        lambda session: triggers.webhook_execution(scope, workflow, payload, session=session),
    )
    accepted = JSONResponse(
        {"message": "Workflow execution started", "execution_id": execution.id}, status_code=202
    )
    if not sync:
        return accepted
    done = await waiting.wait_for_answer(services, scope, execution.id, until_response=True)
    return sync_response(done, execution.id, accepted=accepted, respond_as_sent=True)


for _method in ("POST", "GET", "PUT", "PATCH", "DELETE"):
    router.add_api_route(
        "/hooks/{secret}",
        inbound_webhook,
        methods=[_method],
        operation_id=f"inbound_webhook_{_method.lower()}",
        summary=f"Inbound webhook trigger ({_method})",
    )
