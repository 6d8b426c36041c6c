"""The JSON Schema an org may give an event (`json_schema`): checked when defined, enforced on
every payload the event trigger receives, so a malformed payload is refused at the door with the
reasons instead of failing somewhere inside each workflow it would have started.

Regexes in a schema (`pattern`, `patternProperties`) run on RE2: Python's `re` backtracks and,
being C code holding the GIL, one hostile pattern would freeze every request of the process.
"""

from __future__ import annotations

import functools
import itertools
import json
from typing import Any

import re2
from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import SchemaError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.errors import InvalidInput
from weft.store.tables import AppEvent

LISTED_ERRORS = 5  # reasons given in one refusal
MESSAGE_CHARS = 200  # per reason: messages quote the offending value


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


EventSchemaValidator = validators.extend(
    Draft202012Validator, {"pattern": _pattern, "patternProperties": _pattern_properties}
)


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
    try:
        EventSchemaValidator.check_schema(value)
        _compile_patterns(value)
    except SchemaError as error:
        raise _invalid_schema(error.message) from None
    except re2.error as error:
        raise _invalid_schema(f"a pattern RE2 cannot run ({error})") from None
    except RecursionError:
        raise _invalid_schema("it is nested too deeply") from None
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
    try:
        errors = EventSchemaValidator(schema).iter_errors(payload)
        found = list(itertools.islice(errors, LISTED_ERRORS))
    except RecursionError:
        message = f"payload of event {event!r} is nested too deeply to check"
        raise InvalidInput(message, error_code="INVALID_PAYLOAD") from None
    if found:
        reasons = "; ".join(_reason(error) for error in found)
        raise InvalidInput(
            f"payload does not match the json_schema of event {event!r}: {reasons}",
            error_code="INVALID_PAYLOAD",
        )


def _reason(error: ValidationError) -> str:
    where = "payload" + "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path
    )
    message = error.message
    if len(message) > MESSAGE_CHARS:
        message = message[: MESSAGE_CHARS - 1] + "…"
    return f"{where}: {message}"


async def check_event_payload(
    org_id: str, event: str, payload: Any, *, slug: str | None, session: AsyncSession
) -> None:
    """Check `payload` against every schema the org gave event `event` (of app `slug`)."""
    query = select(AppEvent.json_schema).where(AppEvent.org_id == org_id, AppEvent.name == event)
    if slug is not None:
        query = query.where(AppEvent.app_slug == slug)
    for schema in await session.scalars(query):
        if schema is not None:  # JSON null: the event has no schema
            check_payload(event, schema, payload)
