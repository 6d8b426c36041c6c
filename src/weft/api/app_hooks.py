"""App webhooks: `/hooks/app/{secret}` takes an app's deliveries for a workflow whose start node
is an app trigger of the webhook kind (engine.starts.app_webhooks)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from weft.api.deps import ServicesDep
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES
from weft.engine.starts.app_webhooks import receive_app_webhook

router = Router(tags=["webhooks"], responses=ERROR_RESPONSES)


@router.post(
    "/hooks/app/{secret}",
    summary="An app's webhook delivery (app triggers)",
    status_code=202,
    response_model=None,
    responses={401: {"description": "INVALID_SIGNATURE: the declared signature check failed"}},
)
async def app_webhook(secret: str, request: Request, services: ServicesDep) -> JSONResponse:
    """Answers 202 once the run is queued; a redelivered event answers its first run's id; a
    declared handshake (Slack's `url_verification`) answers 200 with what the app expects."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    delivery = await receive_app_webhook(services, secret, await request.body(), headers)
    if delivery.handshake is not None:  # the app checking the URL (Slack's url_verification)
        return JSONResponse(delivery.handshake, status_code=200)
    return JSONResponse(
        {
            "message": "Workflow execution started",
            "execution_id": delivery.execution_id,
            "duplicate": delivery.duplicate,
        },
        status_code=202,
    )
