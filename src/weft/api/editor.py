"""Routes the visual editor needs beyond Refold's: node types and a version's content."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from weft.api.deps import DbDep, ScopeDep
from weft.api.schemas import ERROR_RESPONSES, Out
from weft.nodes.catalog import describe_node_types
from weft.workflows import versions

router = APIRouter(tags=["editor"], responses=ERROR_RESPONSES)


class NodeTypeOut(Out):
    type: str
    label: str
    category: Literal["trigger", "action", "logic", "flow", "ai"]
    description: str
    branches: list[str] | Literal["cases"] = Field(
        description='Fixed branch handles, or "cases": true/false for an if/else condition, '
        'its case names and "default" for a switch. Any node with on_error "error" also has '
        'an "error" branch.'
    )
    effect: Literal["none", "read", "write", "depends"] = Field(
        description="Outside effect; write steps are skipped in safe test runs. depends: http "
        "by method (POST/PUT/PATCH/DELETE write), app actions by their declaration."
    )
    json_schema: dict[str, Any] = Field(
        alias="schema", description="JSON Schema of the node's `data`, from the engine's model"
    )
    defaults: dict[str, Any] | None = Field(description="A valid starting `data`")
    data_optional: bool
    expression_fields: list[str] = Field(
        description="Top-level `data` keys holding {{ }} templates or bare expressions"
    )
    template_fields: list[str]
    bare_expression_fields: list[str] = Field(
        description="Paths of bare JSONata fields (`cases[].expression`)"
    )
    advanced_fields: list[str]
    output_example: Any = Field(None, description="The output's shape, before any run")


class NodeTypesOut(Out):
    node_types: list[NodeTypeOut]


class VersionContentOut(Out):
    version: int
    id: str = Field(alias="_id")
    live: bool
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    settings: dict[str, Any]
    created_at: datetime = Field(alias="createdAt")


@router.get("/node-types", response_model=NodeTypesOut, summary="Node types for the editor")
async def list_node_types(_scope: ScopeDep) -> NodeTypesOut:
    """Every node type with its form schema, defaults, branches and outside effect."""
    return NodeTypesOut(node_types=[NodeTypeOut(**t) for t in describe_node_types()])


@router.get(
    "/workflow/{workflow_id}/versions/{version}",
    response_model=VersionContentOut,
    summary="One published version's graph",
)
async def get_version(
    workflow_id: str, version: int, scope: ScopeDep, db: DbDep
) -> VersionContentOut:
    """The nodes, edges and settings of a published version (to diff it with the draft)."""
    async with db.reading() as session:
        workflow, found = await versions.version_content(
            scope, workflow_id, version, session=session
        )
    return VersionContentOut(
        version=found.version or version,
        id=found.id,
        live=workflow.published and found.version == workflow.current_version,
        nodes=found.nodes,
        edges=found.edges,
        settings=found.settings,
        created_at=found.created_at,
    )
