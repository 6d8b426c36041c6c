"""The JSON objects some answers carry as plain dicts (built by the domain), given a schema.

A response field such as a draft's `edges` stays `list[dict[str, Any]]`, so what is sent never
changes; `documented(Edge, many=True)` only says in `/openapi.json` what each item holds, so
clients (the editor's generated types, ui/src/api/schema.d.ts) need no hand-written copy.
The TypedDicts name what is always there; an item may carry more keys than listed (an edge
keeps the unknown fields it was saved with), so none of them forbids extra keys.
`truthful_schema` adds each shape used here to the schema's components.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import TypeAdapter, WithJsonSchema
from typing_extensions import TypedDict  # pydantic needs this one on Python 3.11

SCHEMA_REF = "#/components/schemas/{model}"


class Edge(TypedDict):
    """An edge as React Flow shapes it; a branching node names its branch in `sourceHandle`."""

    id: str
    source: str
    target: str
    sourceHandle: str | None
    targetHandle: str | None


class AuthField(TypedDict):
    """One field of an app's connection form (a key, a token, a URL)."""

    name: str
    label: str
    placeholder: str
    required: bool
    type: Literal["text", "password", "url"]
    default: NotRequired[str]


class ConnectedAccount(TypedDict):
    """Refold's `connected_accounts[]` item: the linked account's connection of the app."""

    identifier: str | None
    connectedAt: str
    status: Literal["ACTIVE", "EXPIRED"]
    auth_type: str


class AppAction(TypedDict):
    """One action of an app; `parameters` and `output` only when the app is asked for by slug."""

    name: str
    label: str
    description: str
    effect: Literal["read", "write"]
    deprecated: bool
    paginated: bool
    parameters: NotRequired[dict[str, Any]]
    output: NotRequired[dict[str, Any]]


class AppTrigger(TypedDict):
    """One app trigger a start node may select (`trigger: "app"`)."""

    name: str
    label: str
    description: str
    kind: Literal["polling", "webhook"]
    output: dict[str, Any]
    interval_s: NotRequired[int]  # polling triggers only
    parameters: dict[str, Any]


class OptionsError(TypedDict):
    """Why a parameter has no options: CONNECTION_REQUIRED, APP_CALL_FAILED..."""

    error_code: str
    message: str


SHAPES: tuple[type, ...] = (Edge, AuthField, ConnectedAccount, AppAction, AppTrigger, OptionsError)


def documented(shape: type, *, many: bool = False, nullable: bool = False) -> WithJsonSchema:
    """The schema of a field holding `shape` (a list of them with `many`, or null)."""
    if shape not in SHAPES:
        raise ValueError(f"{shape.__name__} is not in SHAPES: its component would be missing")
    schema: dict[str, Any] = {"$ref": SCHEMA_REF.format(model=shape.__name__)}
    if many:
        schema = {"type": "array", "items": schema}
    if nullable:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return WithJsonSchema(schema)


def shape_schemas() -> dict[str, Any]:
    """The components of SHAPES, by name."""
    components: dict[str, Any] = {}
    for shape in SHAPES:
        schema = TypeAdapter(shape).json_schema(ref_template=SCHEMA_REF)
        components.update(schema.pop("$defs", {}))
        components[shape.__name__] = schema
    return components


# The response fields' types: the dicts the domain builds, documented by their shape.
EdgesJson = Annotated[list[dict[str, Any]], documented(Edge, many=True)]
