"""A whole OpenAPI document -> an AppDefinition, with the warnings of what was left out."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from weft.apps.model import ACTION_NAME, Action, AppDefinition, AppSource, KeyAuth, OAuth2Auth
from weft.apps.openapi.actions import Operation, Skipped, derive_action
from weft.apps.openapi.auth import callable_with, choose_auth
from weft.apps.openapi.loading import InvalidDocument, parse_document, validate_document
from weft.apps.openapi.naming import action_name, snake
from weft.apps.openapi.refs import Refs
from weft.apps.openapi.schemas import SchemaConverter
from weft.apps.openapi.servers import server_of
from weft.apps.param_options import with_options
from weft.errors import InvalidInput

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
CALLABLE = {"GET", "POST", "PUT", "PATCH", "DELETE"}
MAX_WARNINGS = 200


class Pick(BaseModel):
    """One operation to expose, with curated names (a catalogue manifest's `operations[]`).

    Other keys that are Action fields (a curated `pagination`, `effect`) are set on the action.
    """

    model_config = ConfigDict(extra="allow")

    operation: str = Field(min_length=1, description="An operationId, or `METHOD /path`")
    name: str | None = Field(None, pattern=ACTION_NAME)
    label: str | None = None
    description: str | None = None
    options: dict[str, dict[str, Any]] | None = Field(
        None, description="Parameter path -> its `x-weft-options` (weft.apps.param_options)"
    )


@dataclass
class Derived:
    """The derived app and what could not be carried over."""

    definition: AppDefinition
    warnings: list[str] = field(default_factory=list)


def operations_of(document: dict[str, Any]) -> list[Operation]:
    """Every operation in document order (path order, then method order)."""
    found: list[Operation] = []
    for path, item in (document.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            if isinstance(item.get(method), dict):
                found.append(Operation(method.upper(), str(path), item[method], item))
    return found


def _select(
    operations: list[Operation], picks: list[Pick] | None, tags: list[str] | None
) -> list[tuple[Operation, Pick | None]]:
    if tags:
        operations = [op for op in operations if set(op.spec.get("tags") or []) & set(tags)]
    if picks is None:
        return [(op, None) for op in operations]
    by_key: dict[str, Operation] = {}
    for op in operations:
        by_key.setdefault(op.key, op)
        if isinstance(op.spec.get("operationId"), str):
            by_key.setdefault(op.spec["operationId"], op)
    unknown = [pick.operation for pick in picks if _normal(pick.operation) not in by_key]
    if unknown:
        raise InvalidInput(
            f"The document has no operation {', '.join(unknown[:10])} (name an operationId "
            "or `METHOD /path`)" + (" among the chosen tags" if tags else ""),
            error_code="UNKNOWN_OPERATION",
        )
    return [(by_key[_normal(pick.operation)], pick) for pick in picks]


def _normal(key: str) -> str:
    method, _, path = key.strip().partition(" ")
    if path.startswith("/") and method.upper() in {m.upper() for m in METHODS}:
        return f"{method.upper()} {path.strip()}"
    return key.strip()


def derive_app(
    document: dict[str, Any],
    *,
    slug: str | None = None,
    picks: list[Pick] | None = None,
    tags: list[str] | None = None,
    base_url: str | None = None,
    source: AppSource | None = None,
    document_url: str | None = None,
) -> Derived:
    """The app `document` describes (validated first); only `picks`/`tags` when given."""
    version = validate_document(document)
    warnings: list[str] = []
    refs = Refs(document)
    converter = SchemaConverter(refs, version, warnings)
    server = server_of(document, warnings, document_url=document_url)
    chosen = _select(operations_of(document), picks, tags)
    taken: set[str] = set()
    made: list[tuple[Operation, Action]] = []
    for op, pick in chosen:
        if op.method not in CALLABLE:
            warnings.append(f"{op.key}: {op.method} operations are not imported")
            continue
        name = pick.name if pick and pick.name else None
        name = name or action_name(str(op.spec.get("operationId") or op.key), taken)
        taken.add(name)
        try:
            action = derive_action(
                op,
                name,
                refs,
                converter,
                warnings,
                label=pick.label if pick else None,
                description=pick.description if pick else None,
            )
        except Skipped as why:
            warnings.append(f"{op.key} skipped: {why}")
            continue
        extra = (pick.model_extra if pick is not None else None) or {}
        curated = {k: v for k, v in extra.items() if k in Action.model_fields}
        if pick is not None and pick.options:
            try:
                curated["parameters"] = with_options(action.parameters, pick.options)
            except ValueError as error:
                raise InvalidInput(f"{op.key}: {error}", error_code="INVALID_OPTIONS") from None
        if curated:
            action = Action.model_validate(action.model_dump() | curated)
        made.append((op, action))
    auth, sent = choose_auth(
        document, [op.spec for op, _ in made], server.fields, server.filled(), warnings
    )
    actions = []
    for op, action in made:
        if sent is None or callable_with(document, op.spec, sent):
            actions.append(action)
        else:
            warnings.append(
                f"{op.key} skipped: the connection's credentials ({sorted(sent)}) "
                "meet none of its security requirements"
            )
    if not actions:
        raise InvalidDocument(
            "No operation of the document can be imported"
            + (f" ({'; '.join(warnings[:5])})" if warnings else "")
        )
    info = document.get("info") or {}
    title = str(info.get("title") or "Imported app")
    licence = info.get("license") or {}
    provenance = (source or AppSource()).model_copy(
        update={
            "openapi": version,
            "version": (source.version if source else None) or str(info.get("version", "")),
            "licence": (source.licence if source else None)
            or licence.get("identifier")
            or licence.get("name"),
            "url": (source.url if source else None) or document_url,
        }
    )
    # A variable in the base URL needs a form to fill it; OAuth2 and keyless apps get defaults.
    has_form = isinstance(auth, KeyAuth) or (
        isinstance(auth, OAuth2Auth) and auth.grant == "client_credentials"
    )
    root = base_url or (server.base_url if has_form else server.filled())
    try:
        definition = AppDefinition(
            slug=slug or (snake(title).replace("_", "-")[:60] or "imported-app"),
            name=title[:200],
            description=_first_paragraph(str(info.get("description") or "")),
            auth=auth,
            base_url=root,
            actions=actions,
            source=provenance,
        )
    except ValidationError as error:
        problems = "; ".join(
            ".".join(str(part) for part in item["loc"]) + f": {item['msg']}"
            for item in error.errors()[:5]
        )
        raise InvalidInput(f"The derived app is not valid: {problems}") from None
    return Derived(definition, _unique(warnings)[:MAX_WARNINGS])


def import_document(
    raw: str | bytes | dict[str, Any],
    **options: Any,
) -> Derived:
    """Parse `raw` (JSON or YAML text, bytes or a parsed object) and derive its app."""
    document = parse_document(raw)
    source: AppSource | None = options.pop("source", None)
    if isinstance(raw, str | bytes):
        digest = hashlib.sha256(raw.encode() if isinstance(raw, str) else raw).hexdigest()
        known = source.sha256 if source is not None else None
        source = (source or AppSource()).model_copy(update={"sha256": known or digest})
    return derive_app(document, source=source, **options)


def _first_paragraph(text: str) -> str:
    first = text.strip().split("\n\n", 1)[0].strip()
    return first if len(first) <= 300 else first[:299] + "…"


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
