"""Dynamic options of app action parameters: a parameter whose choices come from a list action
of the same app (Slack channels for `post_message.channel`, HubSpot deal pipelines).

A parameter declares them in its JSON schema with `x-weft-options`, the same shape as a config
field's `dynamic_options` (weft.workflows.public.DynamicOptions) without `app`:

    channel:
      type: string
      x-weft-options: {action: list_channels, value: id, label: name}

A string in `params` that is exactly `{path}` takes the value the step's form holds at that
parameter path (`{spreadsheetId}`, `{properties.pipeline}`), so one choice can narrow another.
Declarations are checked when a definition is loaded (`option_problems`); loading them is
weft.apps.config_options's, through the app gateway.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from weft.workflows.public import DynamicOptions

OPTIONS_KEY = "x-weft-options"
_REFERENCE = re.compile(r"^\{([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)\}$")
_CHOICE_TYPES = {"string", "integer", "number"}


def _properties(schema: Any) -> dict[str, Any]:
    props = schema.get("properties") if isinstance(schema, dict) else None
    return props if isinstance(props, dict) else {}


def declared_options(parameters: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every `x-weft-options` in a parameters schema, by dotted parameter path (nested objects'
    properties included), as written."""
    found: dict[str, Any] = {}
    for name, schema in _properties(parameters).items():
        path = f"{prefix}{name}"
        if isinstance(schema, dict) and OPTIONS_KEY in schema:
            found[path] = schema[OPTIONS_KEY]
        found |= declared_options(schema, f"{path}.")
    return found


def schema_at(parameters: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The schema of the parameter at dotted `path`, or None."""
    schema: Any = parameters
    for step in path.split("."):
        schema = _properties(schema).get(step)
        if not isinstance(schema, dict):
            return None
    return schema


def references(source: DynamicOptions) -> list[str]:
    """The parameter paths the declaration's `params` take values from (`{path}` strings)."""
    return [
        match.group(1)
        for value in source.params.values()
        if isinstance(value, str) and (match := _REFERENCE.match(value))
    ]


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    return {kind} if isinstance(kind, str) else set(kind) if isinstance(kind, list) else set()


def parse_source(raw: Any) -> DynamicOptions:
    """The declaration as a model; ValueError saying what is wrong with it."""
    if isinstance(raw, dict) and "app" in raw:
        raise ValueError("`app` is not allowed: the options come from the same app")
    try:
        return DynamicOptions.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"{where + ': ' if where else ''}{first['msg']}") from None


def option_problems(
    action_name: str, parameters: dict[str, Any], list_actions: dict[str, str]
) -> list[str]:
    """Why an action's `x-weft-options` declarations cannot work; `list_actions` maps each of
    the app's action names to its effect."""
    problems = []
    for path, raw in declared_options(parameters).items():
        where = f"action {action_name}: parameter {path}: {OPTIONS_KEY}"
        try:
            source = parse_source(raw)
        except ValueError as error:
            problems.append(f"{where}: {error}")
            continue
        schema = schema_at(parameters, path) or {}
        types = _types(schema) - {"null"}
        if types and not types & _CHOICE_TYPES:
            problems.append(f"{where}: only a string or number parameter takes options")
        effect = list_actions.get(source.action)
        if effect is None:
            problems.append(f"{where}: the app has no action {source.action!r}")
        elif effect != "read":
            # Loading options must never change anything in the app.
            problems.append(f"{where}: {source.action} is not a read action")
        for ref in references(source):
            if schema_at(parameters, ref) is None or ref == path:
                problems.append(f"{where}: params name {{{ref}}}, not another parameter")
    return problems


def filled_params(source: DynamicOptions, values: dict[str, Any]) -> dict[str, Any] | str:
    """The list action's params with each `{path}` taken from the form's `values`; a message
    naming the parameter to fill first when one is unset or still an expression."""
    filled: dict[str, Any] = {}
    for key, value in source.params.items():
        match = _REFERENCE.match(value) if isinstance(value, str) else None
        if match is None:
            filled[key] = value
            continue
        found: Any = values
        for step in match.group(1).split("."):
            found = found.get(step) if isinstance(found, dict) else None
        plain = isinstance(found, str | int | float)  # bool included
        if not plain or found == "" or (isinstance(found, str) and "{{" in found):
            return f"Choose {match.group(1)} first (a fixed value)"
        filled[key] = found
    return filled


def with_options(parameters: dict[str, Any], declared: dict[str, Any]) -> dict[str, Any]:
    """A copy of `parameters` with each `{path: declaration}` set as that parameter's
    `x-weft-options` (a catalogue manifest's `options`); ValueError for an unknown path."""
    copy = copy_schema(parameters)
    for path, declaration in declared.items():
        schema = schema_at(copy, path)
        if schema is None:
            raise ValueError(f"options: no parameter {path}")
        schema[OPTIONS_KEY] = declaration
    return copy


def copy_schema(schema: Any) -> Any:
    """A deep copy of a JSON value."""
    if isinstance(schema, dict):
        return {key: copy_schema(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [copy_schema(value) for value in schema]
    return schema
