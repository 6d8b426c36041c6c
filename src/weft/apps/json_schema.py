"""JSON Schemas that orgs and app definitions give: event payloads (`json_schema`) and action
parameters. Each schema is checked when it is given, and values are checked against it with the
reasons a person can act on (`payload.email: 'nobody' does not match ...`).

Regexes in a schema (`pattern`, `patternProperties`) run on RE2: Python's `re` backtracks and,
being C code holding the GIL, one hostile pattern would freeze every request of the process.
"""

from __future__ import annotations

import functools
import itertools
import json
from typing import Any

import jsonschema_rs
import re2
from jsonschema import Draft202012Validator, ValidationError, validators
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.errors import InvalidInput
from weft.store.tables import AppEvent

LISTED_ERRORS = 5  # reasons given in one refusal
MESSAGE_CHARS = 200  # per reason: messages quote the offending value
QUOTED_CHARS = 60  # of that value


@functools.lru_cache(maxsize=512)
def _regex(pattern: str) -> Any:
    return re2.compile(pattern)


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    if validator.is_type(instance, "string") and not _regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any, _: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _regex(pattern).search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


Re2Validator = validators.extend(
    Draft202012Validator, {"pattern": _pattern, "patternProperties": _pattern_properties}
)


# A schema is checked against the 2020-12 metaschema by jsonschema-rs: jsonschema's own check
# resolves the metaschema's dynamic references in Python, ~10 ms a schema (an OpenAPI import
# of hundreds of operations took seconds), against ~50 µs here. The metaschema is given as a
# document, so a schema's own `$schema` is data, never a URL to fetch; its vocabularies are
# jsonschema-rs's bundled copies (nothing is downloaded). Formats are not checked: patterns
# are compiled by RE2 below, the engine that runs them.
_METASCHEMA = jsonschema_rs.Draft202012Validator(
    Draft202012Validator.META_SCHEMA, validate_formats=False
)
# Deeper schemas are refused before they reach Rust, whose recursion has no guard that raises
# (jsonschema's own check refused anything past ~100 levels with a RecursionError).
MAX_SCHEMA_DEPTH = 128


def schema_problem(schema: Any) -> str | None:
    """Why `schema` is not a JSON Schema (2020-12) this module can run, or None."""
    if _depth_over(schema, MAX_SCHEMA_DEPTH):
        return "it is nested too deeply"
    try:
        _METASCHEMA.validate(schema)
        _compile_patterns(schema)
    except jsonschema_rs.ValidationError as error:
        where = "/".join(str(part) for part in error.instance_path)
        return f"{error.message} (at /{where})" if where else str(error.message)
    except (ValueError, TypeError, OverflowError) as error:  # not JSON: a YAML date, say
        return f"it holds a value JSON cannot carry ({error})"
    except re2.error as error:
        return f"a pattern RE2 cannot run ({error})"
    return None


def _depth_over(value: Any, limit: int) -> bool:
    """Whether `value` nests objects and arrays more than `limit` deep (without recursion)."""
    level: list[Any] = [value]
    for _ in range(limit + 1):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return False
    return True


def value_problems(schema: Any, value: Any, root: str) -> list[str]:
    """The first few reasons `value` breaks `schema`, each naming where (`root.a[0].b`)."""
    try:
        errors = Re2Validator(schema).iter_errors(value)
        return [_reason(error, root) for error in itertools.islice(errors, LISTED_ERRORS)]
    except RecursionError:
        return [f"{root}: nested too deeply to check"]


def schema_errors(
    schema: Any, value: Any, root: str, limit: int = 20
) -> list[tuple[str, str, Any]]:
    """`(where, message, instance)` of the first `limit` errors of `value` against `schema`;
    a missing required property is reported where it belongs (`root.email`)."""
    found = []
    try:
        for error in itertools.islice(Re2Validator(schema).iter_errors(value), limit):
            where, _, message = _reason(error, root).partition(": ")
            if error.validator == "required" and isinstance(error.instance, dict):
                missing = [n for n in error.validator_value if n not in error.instance]
                if len(missing) == 1:
                    where, message = f"{where}.{missing[0]}", "a value is required"
            found.append((where, message, error.instance))
    except RecursionError:
        found.append((root, "nested too deeply to check", None))
    return found


def parse_event_schema(value: Any) -> Any:
    """The schema to store (a JSON string is parsed); 400 INVALID_SCHEMA when it is not one."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise _invalid_schema("it is not JSON") from None
    if not isinstance(value, dict | bool):
        raise _invalid_schema("a schema is a JSON object (or true/false)")
    if (problem := schema_problem(value)) is not None:
        raise _invalid_schema(problem)
    return value


def _compile_patterns(schema: Any) -> None:
    """Compile every regex of `schema` now, so a payload can never meet a broken one."""
    if isinstance(schema, list):
        for item in schema:
            _compile_patterns(item)
    elif isinstance(schema, dict):
        for keyword, value in schema.items():
            if keyword == "pattern" and isinstance(value, str):
                _regex(value)
            elif keyword == "patternProperties" and isinstance(value, dict):
                for pattern in value:
                    _regex(pattern)
            _compile_patterns(value)


def _invalid_schema(reason: str) -> InvalidInput:
    message = f"json_schema is not a valid JSON Schema: {reason}"
    return InvalidInput(message, error_code="INVALID_SCHEMA")


def check_payload(event: str, schema: Any, payload: Any) -> None:
    """Raise 400 INVALID_PAYLOAD, with the first few reasons, if `payload` breaks `schema`."""
    if problems := value_problems(schema, payload, "payload"):
        raise InvalidInput(
            f"payload does not match the json_schema of event {event!r}: {'; '.join(problems)}",
            error_code="INVALID_PAYLOAD",
        )


def _reason(error: ValidationError, root: str) -> str:
    where = root + "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path
    )
    message = error.message
    quoted = repr(error.instance)
    if len(quoted) > QUOTED_CHARS and quoted in message:
        # Keep the reason readable: a long value is cut where it is quoted, not the reason.
        message = message.replace(quoted, quoted[: QUOTED_CHARS - 1] + "…", 1)
    if len(message) > MESSAGE_CHARS:
        message = message[: MESSAGE_CHARS - 1] + "…"
    return f"{where}: {message}"


async def event_schemas(
    org_id: str, event: str, *, slug: str | None, session: AsyncSession
) -> list[Any]:
    """Every schema the org gave event `event` (of app `slug`); an event without one has none."""
    query = select(AppEvent.json_schema).where(AppEvent.org_id == org_id, AppEvent.name == event)
    if slug is not None:
        query = query.where(AppEvent.app_slug == slug)
    # JSON null: the event has no schema.
    return [schema for schema in await session.scalars(query) if schema is not None]
