"""The OpenAPI schema, made to tell the truth about what Weft sends and accepts.

FastAPI's defaults describe a different API: a 422 `HTTPValidationError` that Weft never sends
(validation errors are 400 in the envelope), untyped node `data` and untyped JSON the domain
builds (edges, app actions: api.openapi_shapes). This module rewrites the
generated schema once: every operation declares the envelope for the statuses it can answer,
and nodes are a discriminated union on `type` generated from the node types' pydantic models;
the operations that create something link to those that use it (api.openapi_links).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, WithJsonSchema, create_model

from weft.api.openapi_links import add_links
from weft.api.openapi_shapes import shape_schemas
from weft.nodes import NODE_TYPES
from weft.workflows.graph import NodeIn, Position

ENVELOPE_REF = "#/components/schemas/ErrorOut"
NODE_REF = "#/components/schemas/Node"
DRAFT_NODE_REF = "#/components/schemas/DraftNode"

# A node of a published graph (a version, the live workflow), documented as the union of node
# types: publishing checked its `data` against its type's model.
NodeJson = Annotated[dict[str, Any], WithJsonSchema({"$ref": NODE_REF})]
# A node of a draft, saved and answered as sent: saving never rejects a half-configured node
# (a code step without source, a field the type does not know), so its `data` is any object.
DraftNodeJson = Annotated[dict[str, Any], WithJsonSchema({"$ref": DRAFT_NODE_REF})]

_STATUS_TEXT = {
    400: "Invalid input: the message names the field",
    401: "Missing or bad credentials",
    404: "Not found, or not yours",
    413: "Body larger than the limit",
    429: "Rate limited, or past a quota (`QUOTA_EXCEEDED`); retry after `retry-after` seconds",
    503: "The database is busy or unreachable; retry shortly",
}


def _camel(node_type: str) -> str:
    return "".join(part.capitalize() for part in node_type.split("_"))


def node_models() -> list[type[BaseModel]]:
    """One model per node type: React Flow's node fields with `data` typed for that type."""
    models: list[type[BaseModel]] = []
    for node_type, config in sorted(NODE_TYPES.items()):
        name = _camel(node_type)
        data_model = create_model(f"{name}NodeData", __base__=config)
        data_model.__doc__ = config.__doc__
        models.append(
            create_model(
                f"{name}Node",
                __config__=ConfigDict(extra="allow"),
                __doc__=f"A `{node_type}` node.",
                id=(str, Field(min_length=1)),
                type=(Literal[node_type], ...),
                name=(str | None, Field(None, description="Default: from type and id")),
                position=(Position | None, Field(None, description="Given one when missing")),
                data=(data_model | None, None),
                incoming_nodes=(list[str] | None, Field(None, description="Derived from edges")),
                outgoing_nodes=(list[str] | None, Field(None, description="Derived from edges")),
            )
        )
    return models


def _node_schemas() -> dict[str, Any]:
    models = node_models()
    union = Annotated[Union[tuple(models)], Field(discriminator="type")]  # noqa: UP007
    schema = TypeAdapter(union).json_schema(ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})
    components["Node"] = {
        "title": "Node",
        "description": "A workflow node; `data` depends on `type`.",
        **schema,
    }
    components["DraftNode"] = _draft_node_schema()
    return components


def _draft_node_schema() -> dict[str, Any]:
    """A draft's node: a known type, and any object as `data` (see `DraftNodeJson`)."""
    schema = TypeAdapter(NodeIn).json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    schema["properties"]["type"]["enum"] = sorted(NODE_TYPES)
    schema["properties"]["name"]["description"] = "Default: from type and id"
    schema["required"] = ["id", "type"]
    return {
        **schema,
        "title": "DraftNode",
        "description": "A node of a draft, as saved: its `data` may be incomplete or hold "
        "fields its type does not know (publishing checks it against `Node`).",
    }


def _envelope(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": ENVELOPE_REF}}},
    }


def _errors_sent(path: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation can answer, judged from what it takes."""
    sent = {429, 503}
    if operation.get("security"):
        sent |= {401}
    parameters = operation.get("parameters", [])
    if operation.get("requestBody") or parameters:
        sent |= {400}
    if operation.get("requestBody"):
        sent |= {413}
    if "{" in path or operation.get("security"):
        sent |= {404}  # a missing resource, or a linked account that does not exist
    return sent


def truthful_schema(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, corrected: envelope errors, typed nodes, no HTTPValidationError."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components.update(_node_schemas())
    for name, shape in shape_schemas().items():
        if name in components:  # a response model of the same name would be overwritten
            raise ValueError(f"Two schemas named {name}: rename the shape in api.openapi_shapes")
        components[name] = shape
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in ("get", "put", "post", "patch", "delete", "head", "options"):
                continue
            responses = operation.setdefault("responses", {})
            framework = responses.get("422", {})
            if "HTTPValidationError" in str(framework):
                del responses["422"]
            for status in sorted(_errors_sent(path, operation)):
                responses.setdefault(str(status), _envelope(_STATUS_TEXT[status]))
            for status, response in responses.items():
                # Errors are JSON whatever the route streams. A browser page's own errors (the
                # editor, the OAuth callback) are pages a person reads; what the middleware
                # refuses before the page (a NUL, a rate limit) is still the envelope.
                if status.startswith(("4", "5")):
                    page = response.get("content", {}).get("text/html")
                    response["content"] = {"application/json": {"schema": {"$ref": ENVELOPE_REF}}}
                    if page is not None:
                        response["content"]["text/html"] = page
    add_links(schema)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve the corrected schema at `/openapi.json` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = truthful_schema(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
