"""Every shipped action built from an OpenAPI document makes a request its document accepts.

For each app in catalog/ the action is called, with schema-valid sample parameters and a sample
connection, through the request builder and the outbound client workflows use, against a server
that validates method, path, parameters, body and where the credentials go against the source
operation (tests/apps/validating_api.py). A definition that drifts from its document fails here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from apps.samples import sample
from apps.validating_api import ValidatingApi
from weft.apps.calls import build_request
from weft.apps.catalog import shipped_definitions
from weft.apps.model import Action, AppDefinition, KeyAuth, fill
from weft.net import OutboundClient, OutboundPolicy

pytestmark = pytest.mark.integration

CATALOG = Path(__file__).parents[2] / "catalog"
_PLACEHOLDER = re.compile(r"\{\+?([A-Za-z_][A-Za-z0-9_]*)\}")


def catalog_apps() -> list[str]:
    return sorted(path.parent.name for path in CATALOG.glob("*/app.yaml"))


def source_document(slug: str) -> dict[str, Any]:
    for name in ("openapi.json", "openapi.yaml"):
        path = CATALOG / slug / name
        if path.exists():
            text = path.read_text(encoding="utf-8")
            return json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
    raise AssertionError(f"catalog/{slug} has no openapi.json or openapi.yaml")


def selected_operations(slug: str) -> dict[str, str]:
    """Action name -> the operation it was made from (operationId or `METHOD /path`)."""
    manifest = yaml.safe_load((CATALOG / slug / "app.yaml").read_text(encoding="utf-8"))
    return {entry["name"]: entry["operation"] for entry in manifest["operations"]}


def operation_of(document: dict[str, Any], selector: str) -> tuple[str, str]:
    """(METHOD, path) of the operation `selector` names in `document`."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or method in ("parameters", "servers"):
                continue
            if selector in (operation.get("operationId"), f"{method.upper()} {path}"):
                return method.upper(), path
    raise AssertionError(f"{selector} is not in the source document")


def wire_path(action: Action) -> str:
    """The action's path with its placeholders named as the document names them."""
    wire = getattr(action, "wire_names", {}) or {}
    return _PLACEHOLDER.sub(lambda m: "{" + wire.get(m.group(1), m.group(1)) + "}", action.path)


def sample_credentials(definition: AppDefinition) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if isinstance(definition.auth, KeyAuth):
        for field in definition.auth.fields:
            fields[field.name] = getattr(field, "default", None) or f"sample-{field.name}"
    return {"fields": fields, "access_token": "sample-access-token"}


def local_base(definition: AppDefinition, credentials: dict[str, Any]) -> str:
    """The path part of the app's real base URL (e.g. `/v1`), kept on the local server."""
    return urlsplit(fill(definition.base_url, credentials["fields"])).path


async def call_every_action(
    server: ValidatingApi, slug: str, definition: AppDefinition
) -> list[str]:
    document = source_document(slug)
    credentials = sample_credentials(definition)
    base = server.serve(slug, document, local_base(definition, credentials))
    operations = selected_operations(slug)
    problems: list[str] = []
    async with OutboundClient(OutboundPolicy(allow=("127.0.0.1",))) as client:
        for action in definition.actions:
            selector = operations.get(action.name)
            if selector is None:
                if not action.deprecated:
                    problems.append(f"{action.name}: not in catalog/{slug}/app.yaml")
                continue
            method, path = operation_of(document, selector)
            if (action.method, wire_path(action)) != (method, path):
                problems.append(f"{action.name}: {action.method} {action.path} is not {selector}")
                continue
            params = sample(action.parameters)
            request = build_request(definition, action, params, credentials, base_url=base)
            response = await client.request(
                request.method,
                request.url,
                headers=request.headers,
                params=request.query,
                json=request.json,
                content=request.content,
            )
            if response.status != 200:
                problems.append(f"{action.name} {params}: {response.body}")
    return problems


@pytest.fixture(scope="module")
def server() -> Iterator[ValidatingApi]:
    api = ValidatingApi()
    yield api
    api.close()


def test_the_catalogue_is_built_from_documents() -> None:
    definitions = shipped_definitions()
    missing = [slug for slug in catalog_apps() if slug not in definitions]
    assert not missing, f"catalog/ apps with no shipped definition: {missing}"
    assert len(catalog_apps()) >= 40


@pytest.mark.parametrize("slug", catalog_apps())
async def test_every_action_matches_its_source_operation(server: ValidatingApi, slug: str) -> None:
    definition = shipped_definitions()[slug]
    problems = await call_every_action(server, slug, definition)
    assert not problems, f"{slug}:\n  " + "\n  ".join(problems)


def _with_actions(definition: AppDefinition, *actions: Action) -> AppDefinition:
    return definition.model_copy(update={"actions": list(actions)})


async def test_a_drifted_definition_fails(server: ValidatingApi) -> None:
    """A path, a body format or a credential's place that no longer matches is caught."""
    keyed = [
        shipped_definitions()[slug]
        for slug in catalog_apps()
        if isinstance(shipped_definitions()[slug].auth, KeyAuth)
    ]
    definition = keyed[0]
    action = definition.actions[0]
    moved = action.model_copy(update={"path": action.path + "/drifted"})
    problems = await call_every_action(server, definition.slug, _with_actions(definition, moved))
    assert problems and "is not" in problems[0]

    unsigned = definition.auth.model_copy(update={"headers": {}, "query": {}, "basic": None})
    bare = _with_actions(definition, action).model_copy(update={"auth": unsigned})
    problems = await call_every_action(server, definition.slug, bare)
    assert problems and "Security" in problems[0]

    definition, action = next(
        (d, a) for d in keyed for a in d.actions if a.method == "POST" and a.body_format == "json"
    )
    as_form = action.model_copy(update={"body_format": "form"})
    problems = await call_every_action(server, definition.slug, _with_actions(definition, as_form))
    assert problems

    # A required query parameter sent under a name the document does not know.
    definition, action, name = next(
        (d, a, n)
        for d in keyed
        for a in d.actions
        for n in a.query
        if n in a.parameters.get("required", [])
    )
    renamed = action.model_copy(update={"wire_names": {**action.wire_names, name: "drifted"}})
    problems = await call_every_action(server, definition.slug, _with_actions(definition, renamed))
    assert problems and "MissingRequiredParameter" in problems[0]
