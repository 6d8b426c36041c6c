"""Every error is Refold's envelope, the framework's own 404/405/validation errors included."""

from __future__ import annotations

import httpx
import pytest

from support import Tenant, assert_envelope
from weft.settings import Settings

pytestmark = pytest.mark.integration


async def test_unknown_route_is_an_envelope(client: httpx.AsyncClient) -> None:
    body = assert_envelope(await client.get("/api/v2/public/nowhere"), 404, "NOT_FOUND")
    assert "/api/v2/public/nowhere" in body["message"]


async def test_wrong_method_is_an_envelope(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert_envelope(
        await client.delete("/api/v2/public/workflow", headers=tenant.bearer),
        405,
        "METHOD_NOT_ALLOWED",
    )


async def test_invalid_json_is_a_400_envelope(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/api/v2/public/workflow",
        content=b"{not json",
        headers={**tenant.bearer, "content-type": "application/json"},
    )
    body = assert_envelope(response, 400, "INVALID_INPUT")
    assert "JSON" in body["message"]


async def test_wrong_types_name_the_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/api/v2/public/workflow", json={"name": ["x"]}, headers=tenant.bearer
    )
    body = assert_envelope(response, 400, "INVALID_INPUT")
    assert body["message"].startswith("name")


async def test_request_ids_are_fresh_per_request(client: httpx.AsyncClient) -> None:
    first = await client.get("/api/v2/public/workflow")
    second = await client.get("/api/v2/public/workflow")
    assert first.json()["request_id"] != second.json()["request_id"]
    ok = await client.get("/healthz")
    assert ok.status_code == 200 and len(ok.headers["x-request-id"]) == 36


async def test_body_over_one_mib_is_413(client: httpx.AsyncClient, tenant: Tenant) -> None:
    big = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    response = await client.post(
        "/api/v2/public/workflow",
        content=big,
        headers={**tenant.bearer, "content-type": "application/json"},
    )
    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")


async def test_chunked_body_over_the_limit_is_413(
    settings: Settings, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    async def chunks():  # no content-length: the limit must hold on the stream itself
        for _ in range(20):
            yield b"x" * 65536

    response = await client.post(
        "/api/v2/public/workflow",
        content=chunks(),
        headers={**tenant.bearer, "content-type": "application/json"},
    )
    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")


async def test_unknown_application_slug_is_app_not_found(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get("/api/v2/public/application/unknown-app", headers=tenant.bearer)
    assert_envelope(response, 404, "APP_NOT_FOUND")


async def test_openapi_documents_every_route(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/api/v2/public/workflow",
        "/api/v2/public/workflow/{workflow_id}",
        "/api/v2/public/workflow/{workflow_id}/edit",
        "/api/v2/public/workflow/{workflow_id}/draft",
        "/api/v2/public/workflow/{workflow_id}/publish",
        "/api/v2/public/workflow/versions/{workflow_id}",
        "/api/v2/public/workflow/{workflow_id}/versions/{version}/restore",
        "/api/v2/public/linked-account",
        "/api/v2/public/session-token",
        "/api/v2/public/application/{slug}",
    ):
        assert path in paths, path
    created = paths["/api/v2/public/workflow"]["post"]["responses"]["200"]
    assert "$ref" in str(created["content"]["application/json"]["schema"])
    assert (await client.get("/docs")).status_code == 200


async def test_every_error_carries_refolds_error_key_beside_error_code(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v2/public/workflow")
    body = assert_envelope(response, 401, "SERVER_ERROR")
    assert body["error"] == "SERVER_ERROR" and body["message"] == "Invalid Credentials"
