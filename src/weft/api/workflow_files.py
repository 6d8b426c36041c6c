"""Workflows as files: export one, import one (docs/workflow-files.md).

The same callers as the other workflow routes: a linked account for its private workflows, the
org key alone for the org's public ones.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from weft.api.deps import DbDep, WorkflowScopeDep
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES, ErrorOut
from weft.api.workflows import DraftOut, WorkflowOut
from weft.apps.catalog import resolve_app
from weft.apps.checks import catalog_problems
from weft.workflows import service
from weft.workflows.files import render

router = Router(tags=["workflows"], responses=ERROR_RESPONSES)

FILE_EXAMPLE = {
    "format_version": 1,
    "weft_version": "0.1.0",
    "name": "Lead Sync",
    "description": None,
    "app": "custom",
    "nodes": [{"id": "1", "type": "start", "name": "Start", "data": {"trigger": "manual"}}],
    "edges": [],
    "settings": {},
}


class ImportedOut(BaseModel):
    workflow: WorkflowOut
    draft: DraftOut | None = Field(
        description="The new draft with its problems (None once published: `?publish=true`)"
    )


@router.get(
    "/workflow/{workflow_id}/export",
    summary="The workflow as a file",
    responses={
        200: {
            "description": "The workflow file: no ids, owner, connections, runs or secrets",
            "content": {"application/json": {"example": FILE_EXAMPLE}},
        }
    },
)
async def export_workflow(workflow_id: str, scope: WorkflowScopeDep, db: DbDep) -> Response:
    """The live version (the draft before the first publish) as the text `weft workflow export`
    writes: sorted keys, 2-space indent, so saved files diff cleanly."""
    document = await service.export_workflow(db, scope, workflow_id)
    return Response(render(document), media_type="application/json")


@router.post(
    "/workflow/import",
    response_model=ImportedOut,
    summary="A new workflow from a file",
    responses={422: {"model": ErrorOut, "description": "Every problem of the file, with paths"}},
)
async def import_workflow(
    scope: WorkflowScopeDep,
    db: DbDep,
    body: Annotated[Any, Body(description="A workflow file", examples=[FILE_EXAMPLE])] = None,
    publish: Annotated[
        bool, Query(description="Publish version 1 at once (connections must exist)")
    ] = False,
) -> ImportedOut:
    """Checks the whole file first (422 lists every problem, nothing is created); an app the
    caller has not connected is the draft's CONNECTION_REQUIRED problem, unless publishing."""
    workflow, draft = await service.import_workflow(
        db,
        scope,
        body,
        publish=publish,
        resolve_app=resolve_app,
        catalog_problems=catalog_problems,
    )
    shown = WorkflowOut.with_graph(scope, await service.get_workflow(db, scope, workflow.id))
    return ImportedOut(
        workflow=shown, draft=await DraftOut.of(db, scope, workflow, draft) if draft else None
    )
