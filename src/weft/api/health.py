"""Liveness, readiness and metrics: the routes an orchestrator and Prometheus scrape."""

from __future__ import annotations

from fastapi.responses import Response

from weft import __version__
from weft.api.deps import DbDep
from weft.api.routing import Router
from weft.errors import WeftError
from weft.observability.metrics import CONTENT_TYPE, exposition

router = Router(tags=["meta"])


class NotReady(WeftError):
    status_code = 503
    error_code = "NOT_READY"


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/readyz", summary="Readiness: the database answers too")
async def readyz(db: DbDep) -> dict[str, str]:
    try:
        await db.ping()
    except Exception as error:
        raise NotReady(f"The database does not answer: {type(error).__name__}") from error
    return {"status": "ready", "version": __version__}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus' text format"}},
)
async def metrics(db: DbDep) -> Response:
    return Response(await exposition(db), media_type=CONTENT_TYPE)
