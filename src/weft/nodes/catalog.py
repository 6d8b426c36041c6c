"""What the editor needs to know about each node type, read from its `KIND` (label, branches,
effect, defaults) and its pydantic `Config` (JSON schema, expression fields).

The schema and the validity of the defaults come from the models in this package, so the
editor's forms cannot drift from what the engine accepts.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from weft.nodes import KINDS, NodeConfig


def _top_level(paths: tuple[str, ...]) -> list[str]:
    """Top-level data keys of field paths (`cases[].expression` → `cases`), in order."""
    return list(dict.fromkeys(path.split(".")[0].removesuffix("[]") for path in paths))


# Form labels and help for field names pydantic would title mechanically ("Timeout S").
_FIELD_TEXT: dict[str, tuple[str, str | None]] = {
    "retry": ("Retry", "Try again when the step fails with a temporary error."),
    "on_error": (
        "On error",
        "What happens when this step fails after its retries.",
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


# What the form shows for a field's choices (`x-option-labels`), where the value is a code word.
_OPTION_LABELS: dict[str, dict[str, str]] = {
    "on_error": {
        "fail": "Stop the run",
        "continue": "Go on, with the error as this step's output",
        "error": "Follow the step's error branch",
    },
    "backoff": {"exponential": "Longer and longer waits (exponential)"},
    "status": {"succeeded": "Succeeded", "failed": "Failed"},
}


def _retitle(schema: Any) -> None:
    if isinstance(schema, dict):
        for name, prop in (schema.get("properties") or {}).items():
            text = _FIELD_TEXT.get(name)
            if text and isinstance(prop, dict):
                prop["title"] = text[0]
                if text[1] and "description" not in prop:
                    prop["description"] = text[1]
            labels = _OPTION_LABELS.get(name)
            # Only on choices: a same-named field elsewhere may be a number (respond's status).
            if labels and isinstance(prop, dict) and ("enum" in prop or "const" in prop):
                prop["x-option-labels"] = labels
        for value in schema.values():
            _retitle(value)
    elif isinstance(schema, list):
        for item in schema:
            _retitle(item)


@cache
def node_type_schema(node_type: str) -> dict[str, Any]:
    """The JSON schema of a node type's `data`, from its pydantic model (with form titles)."""
    kind = KINDS[node_type]
    model: type[NodeConfig] = kind.config
    schema = model.model_json_schema(by_alias=True, mode="validation")
    _retitle(schema)
    schema["title"] = kind.label
    return schema


def describe_node_type(node_type: str) -> dict[str, Any]:
    """The node type as `GET /node-types` lists it."""
    kind = KINDS[node_type]
    model = kind.config
    branches = kind.branches
    return {
        "type": node_type,
        "label": kind.label,
        "category": kind.category,
        "description": kind.description,
        "icon": kind.icon,
        "branches": branches if isinstance(branches, str) else list(branches),
        "effect": kind.effect,
        "schema": node_type_schema(node_type),
        "defaults": kind.defaults,
        "data_optional": model.data_optional,
        "expression_fields": _top_level(model.template_fields + model.expression_fields),
        "template_fields": list(model.template_fields),
        "bare_expression_fields": list(model.expression_fields),
        "advanced_fields": list(kind.advanced_fields),
        "hidden_fields": list(kind.hidden_fields),
        "output_example": kind.output_example,
        "write_when": (
            None
            if kind.write_when is None
            else {name: list(values) for name, values in kind.write_when.items()}
        ),
    }


def describe_node_types() -> list[dict[str, Any]]:
    """Every node type the engine runs, in palette order (the registry's)."""
    return [describe_node_type(node_type) for node_type in KINDS]
