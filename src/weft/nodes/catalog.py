"""What the editor needs to know about each node type, derived from its pydantic `Config`.

The JSON schema, the expression fields and the validity of the defaults all come from the
models in this package, so the editor's forms cannot drift from what the engine accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from weft.nodes import NODE_TYPES, NodeConfig

Category = Literal["trigger", "action", "logic", "flow", "ai"]
# none: touches nothing outside; read: fetches only; write: changes something outside;
# depends: decided per node from its data (an http method, an app action's declaration).
Effect = Literal["none", "read", "write", "depends"]


@dataclass(frozen=True)
class NodeTypeInfo:
    """The editor-facing description of one node type."""

    type: str
    label: str
    category: Category
    description: str
    # Fixed branch handles, or "cases" when they come from the data (condition: true/false or
    # switch case names plus "default"). The "error" branch exists on any node with
    # on_error "error" and is not listed.
    branches: list[str] | Literal["cases"]
    effect: Effect
    defaults: dict[str, Any] | None
    output_example: Any = None
    # Fields that may be left as they are by a newcomer (kept collapsed in the form).
    advanced_fields: tuple[str, ...] = field(default=("retry", "on_error", "timeout_s"))


_INFO = [
    NodeTypeInfo(
        "start",
        "Trigger",
        "trigger",
        "How the workflow starts: by hand, on an event, from a webhook or on a schedule. "
        "Its output is the payload it was started with.",
        [],
        "none",
        {"trigger": "manual"},
        {"example": "the trigger payload"},
    ),
    NodeTypeInfo(
        "http",
        "HTTP request",
        "action",
        "Call any web API. URL, headers, query and body may use {{ }} references.",
        [],
        "depends",
        {"method": "GET", "url": "https://api.example.com/items"},
        {"status": 200, "headers": {"content-type": "application/json"}, "body": {}},
    ),
    NodeTypeInfo(
        "app_action",
        "App action",
        "action",
        "Run an action of a connected app with the parameters you give.",
        [],
        "depends",
        {"app": "app-slug", "action": "action-name", "params": {}},
    ),
    NodeTypeInfo(
        "transform",
        "Transform data",
        "logic",
        "Build a new value from earlier steps' data with {{ }} references.",
        [],
        "none",
        {"value": {}},
    ),
    NodeTypeInfo(
        "condition",
        "Condition",
        "logic",
        "Branch on an expression (true/false) or on switch cases; unmatched cases go to 'default'.",
        "cases",
        "none",
        {"expression": "true"},
        {"result": True},
    ),
    NodeTypeInfo(
        "code",
        "Code",
        "logic",
        "Run JavaScript in a sandbox. `input` holds {trigger, nodes, loop}; return the output.",
        [],
        "none",
        {"source": "return input.trigger;"},
    ),
    NodeTypeInfo(
        "loop",
        "Loop",
        "flow",
        "Run the 'body' branch once per item of a list; the plain edge continues after.",
        ["body"],
        "none",
        {"items": "trigger.items"},
    ),
    NodeTypeInfo(
        "delay",
        "Delay",
        "flow",
        "Wait a number of seconds, or until a time.",
        [],
        "none",
        {"seconds": 60},
    ),
    NodeTypeInfo(
        "workflow",
        "Run workflow",
        "flow",
        "Start another of your workflows with a payload and use its result.",
        [],
        "depends",
        {"workflow_id": "000000000000000000000000", "payload": None},
    ),
    NodeTypeInfo(
        "respond",
        "Respond",
        "flow",
        "Answer a synchronous webhook caller with a status, headers and body.",
        [],
        "none",
        {"status": 200, "body": {}},
        {"status": 200, "headers": {}, "body": {}},
    ),
    NodeTypeInfo(
        "end",
        "End",
        "flow",
        "Finish the run here, as succeeded or failed, with an output.",
        [],
        "none",
        {"status": "succeeded", "output": None},
    ),
    NodeTypeInfo(
        "ai",
        "AI prompt",
        "ai",
        "Ask a language model; prompt and system message may use {{ }} references.",
        [],
        "read",
        {"prompt": "Summarise: {{ trigger }}"},
    ),
]
NODE_TYPE_INFO: dict[str, NodeTypeInfo] = {info.type: info for info in _INFO}

# For effect "depends": the `data` values that make a node write (safe test mode holds it).
WRITE_WHEN: dict[str, dict[str, list[str]]] = {
    "http": {"method": ["POST", "PUT", "PATCH", "DELETE"]},
}


def _top_level(paths: tuple[str, ...]) -> list[str]:
    """Top-level data keys of field paths (`cases[].expression` → `cases`), in order."""
    return list(dict.fromkeys(path.split(".")[0].removesuffix("[]") for path in paths))


def _info(node_type: str) -> NodeTypeInfo:
    known = NODE_TYPE_INFO.get(node_type)
    if known is not None:
        return known
    # A type added to the engine without editor metadata still appears, plainly described.
    doc = (NODE_TYPES[node_type].__doc__ or "").strip()
    label = node_type.replace("_", " ").capitalize()
    return NodeTypeInfo(node_type, label, "action", doc, [], "depends", None)


# Form labels and help for field names pydantic would title mechanically ("Timeout S").
_FIELD_TEXT: dict[str, tuple[str, str | None]] = {
    "retry": ("Retry", "Try again when the step fails with a temporary error."),
    "on_error": (
        "On error",
        "fail: stop the run; continue: go on with the error as this step's output; "
        "error: follow this step's 'error' branch.",
    ),
    "timeout_s": ("Time limit (seconds)", "Stop this step after this long."),
    "max_attempts": ("Attempts", "How many times to try in all."),
    "initial_s": ("First wait (seconds)", None),
    "max_s": ("Longest wait (seconds)", None),
    "url": ("URL", None),
    "sample_payload": ("Sample payload", "Used by test runs started from the editor."),
    "cron": ("Schedule (cron)", "Five fields: minute hour day month weekday."),
    "sync": ("Wait for a response", "The webhook caller waits for a Respond step."),
    "timeout_ms": ("Time limit (ms)", None),
    "memory_mb": ("Memory (MB)", None),
    "workflow_id": ("Workflow", "The id of the workflow to run."),
    "json": ("Answer JSON", "Ask the model for a JSON answer."),
    "items": ("Items", "An expression giving the list to loop over."),
    "concurrency": ("At once", "How many items run at the same time."),
    "until": ("Until", "An ISO 8601 time, or a {{ }} reference giving one."),
}


def _retitle(schema: Any) -> None:
    if isinstance(schema, dict):
        for name, prop in (schema.get("properties") or {}).items():
            text = _FIELD_TEXT.get(name)
            if text and isinstance(prop, dict):
                prop["title"] = text[0]
                if text[1] and "description" not in prop:
                    prop["description"] = text[1]
        for value in schema.values():
            _retitle(value)
    elif isinstance(schema, list):
        for item in schema:
            _retitle(item)


@cache
def node_type_schema(node_type: str) -> dict[str, Any]:
    """The JSON schema of a node type's `data`, from its pydantic model (with form titles)."""
    model: type[NodeConfig] = NODE_TYPES[node_type]
    schema = model.model_json_schema(by_alias=True, mode="validation")
    _retitle(schema)
    schema["title"] = _info(node_type).label
    return schema


def describe_node_type(node_type: str) -> dict[str, Any]:
    """The node type as `GET /node-types` lists it."""
    info = _info(node_type)
    model = NODE_TYPES[node_type]
    return {
        "type": node_type,
        "label": info.label,
        "category": info.category,
        "description": info.description,
        "branches": info.branches,
        "effect": info.effect,
        "schema": node_type_schema(node_type),
        "defaults": info.defaults,
        "data_optional": model.data_optional,
        "expression_fields": _top_level(model.template_fields + model.expression_fields),
        "template_fields": list(model.template_fields),
        "bare_expression_fields": list(model.expression_fields),
        "advanced_fields": list(info.advanced_fields),
        "output_example": info.output_example,
        "write_when": WRITE_WHEN.get(node_type),
    }


def describe_node_types() -> list[dict[str, Any]]:
    """Every node type the engine runs, in palette order (known ones first)."""
    ordered = [t for t in NODE_TYPE_INFO if t in NODE_TYPES]
    ordered += sorted(set(NODE_TYPES) - set(NODE_TYPE_INFO))
    return [describe_node_type(t) for t in ordered]
