"""The OpenAPI schema is valid and tells the truth about what Weft accepts and answers.

When a test here fails after you added a route: declare it in the schema (no
`include_in_schema=False`), give it a summary, and let its errors be the envelope.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from openapi_spec_validator import validate

from weft.nodes import NODE_TYPES

pytestmark = pytest.mark.integration

P = "/api/v2/public"
METHODS = ("get", "put", "post", "patch", "delete")
# Documentation infrastructure, not API: the pages that show the schema, and the schema itself.
NOT_API = {"/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"}


@pytest.fixture
async def schema(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    return answer.json()


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


async def test_schema_is_valid_openapi(schema: dict[str, Any]) -> None:
    validate(schema)


async def test_no_route_is_hidden(app: FastAPI, schema: dict[str, Any]) -> None:
    for route in app.routes:
        if not isinstance(route, APIRoute) or route.path in NOT_API:
            continue
        documented = schema["paths"].get(route.path, {})
        for method in route.methods - {"HEAD"}:
            assert method.lower() in documented, (
                f"{method} {route.path} is missing from /openapi.json: every API route must be "
                "in the schema (drop include_in_schema=False; give each path+method its own "
                "operation_id)"
            )


# Pages a person's browser opens: their own errors are pages too (the rest stays the envelope).
BROWSER_PAGES = {"/workflows/{workflow_id}", "/oauth/callback", "/oauth/start/{state}", "/connect"}


async def test_errors_are_the_envelope_never_httpvalidationerror(schema: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in str(schema), "FastAPI's 422 shape is never sent"
    envelope = schema["components"]["schemas"]["ErrorOut"]
    assert set(envelope["required"]) >= {
        "status_code",
        "http_error_type",
        "error_code",
        "error",
        "message",
        "request_id",
    }
    seen: set[str] = set()
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                seen.add(status)
                if "text/html" in response["content"]:  # a browser page's own error page
                    assert path in BROWSER_PAGES, f"{method} {path} {status} is a page"
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorOut"), f"{method} {path} {status}: {ref}"
        if operation.get("requestBody") or operation.get("parameters"):
            assert "400" in operation["responses"], f"{method} {path} declares no 400"
        if operation.get("security"):
            assert "401" in operation["responses"], f"{method} {path} declares no 401"
    assert seen >= {"400", "401", "404", "409", "413", "422", "429", "503"}


async def test_node_data_is_a_union_discriminated_by_type(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    node = components["Node"]
    assert node["discriminator"]["propertyName"] == "type"
    mapped = node["discriminator"]["mapping"]
    assert set(mapped) == set(NODE_TYPES), "every node type is in the union"
    http = components[mapped["http"].rsplit("/", 1)[-1]]
    data = http["properties"]["data"]["anyOf"][0]["$ref"].rsplit("/", 1)[-1]
    assert {"url", "method", "headers", "retry", "on_error"} <= set(components[data]["properties"])
    for model in ("WorkflowOut", "VersionContentOut"):  # published graphs: checked at publish
        assert components[model]["properties"]["nodes"]["items"]["$ref"].endswith("/Node")
    # A draft keeps a half-configured node as sent: its data is any object.
    for model in ("DraftSave", "DraftOut"):
        assert components[model]["properties"]["nodes"]["items"]["$ref"].endswith("/DraftNode")
    draft_node = components["DraftNode"]
    assert set(draft_node["properties"]["type"]["enum"]) == set(NODE_TYPES)
    assert draft_node["required"] == ["id", "type"]
    assert {"type": "object", "additionalProperties": True} in (
        draft_node["properties"]["data"]["anyOf"]
    )


def _headers_of(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}


async def test_refold_headers_are_declared(schema: dict[str, Any]) -> None:
    execute = schema["paths"][f"{P}/workflow/{{workflow_id}}/execute"]["post"]
    assert {"sync_execution", "Idempotency-Key", "linked_account_id"} <= _headers_of(execute)
    event = schema["paths"][f"{P}/event/trigger"]["post"]
    assert {"Idempotency-Key", "linked_account_id"} <= _headers_of(event)
    assert set(schema["components"]["securitySchemes"]) >= {"APIKeyHeader", "HTTPBearer"}


async def test_sync_answers_and_webhooks_are_declared(schema: dict[str, Any]) -> None:
    execute = schema["paths"][f"{P}/workflow/{{workflow_id}}/execute"]["post"]["responses"]
    assert {"200", "202", "422"} <= set(execute)
    assert "x-execution-id" in execute["200"]["headers"]
    assert "respond node" in execute["200"]["description"]
    hooks = schema["paths"]["/hooks/{secret}"]
    assert set(hooks) >= {"get", "post", "put", "patch", "delete"}
    post = hooks["post"]
    assert {"200", "202", "404", "422"} <= set(post["responses"])
    assert "requestBody" in post


async def test_event_stream_declares_text_event_stream(schema: dict[str, Any]) -> None:
    stream = schema["paths"][f"{P}/execution/{{execution_id}}/events"]["get"]
    assert set(stream["responses"]["200"]["content"]) == {"text/event-stream"}


async def test_every_operation_has_a_summary_and_a_unique_id(schema: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(schema)]
    assert len(ids) == len(set(ids))
    for path, method, operation in operations(schema):
        assert operation.get("summary"), f"{method} {path} has no summary"
