"""POST /application/import: a document (or a URL) to an org app that a workflow runs; re-import
reports what changed and keeps what live workflows use; bad documents answer clear 4xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from actions_support import publish_chain
from fake_api import FakeApi

from engine.flows import run, step
from graphs import node
from servers import RecordingServer, Request
from support import Tenant, assert_envelope
from weft.engine.workers.host import Engine

pytestmark = pytest.mark.integration

BASE = "/api/v2/public"
IMPORT = f"{BASE}/application/import"
KEY = "pets-key-4242"


def pets_document(server_url: str) -> dict[str, Any]:
    """A small 3.0 document: API key in a header, a renamed path parameter, a header param."""
    pet = {"$ref": "#/components/schemas/Pet"}
    ok = {"200": {"description": "ok", "content": {"application/json": {"schema": pet}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Pets", "version": "1"},
        "servers": [{"url": f"{server_url}/v1"}],
        "security": [{"key": []}],
        "paths": {
            "/pets": {
                "get": {"operationId": "listPets", "responses": ok},
                "post": {
                    "operationId": "createPet",
                    "requestBody": {"content": {"application/json": {"schema": pet}}},
                    "responses": ok,
                },
            },
            "/pets/{pet-id}": {
                "get": {
                    "operationId": "getPet",
                    "parameters": [
                        {
                            "name": "pet-id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {"name": "X-Trace", "in": "header", "schema": {"type": "string"}},
                    ],
                    "responses": ok,
                }
            },
        },
        "components": {
            "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Pets-Key"}},
            "schemas": {
                "Pet": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "friend": pet},
                }
            },
        },
    }


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    server = FakeApi()
    yield server
    server.close()


async def test_imported_app_runs_in_a_workflow_and_reimport_keeps_what_it_uses(
    client: httpx.AsyncClient, tenant: Tenant, engine: Engine, fake: FakeApi
) -> None:
    text = yaml.safe_dump(pets_document(fake.url))
    imported = await client.post(
        IMPORT, json={"document": text, "slug": "pets"}, headers=tenant.org_key
    )
    assert imported.status_code == 200, imported.text
    body = imported.json()
    assert body["actions"] == ["list_pets", "create_pet", "get_pet"]
    assert body["added"] == sorted(body["actions"]) and body["removed"] == []
    shown = (await client.get(f"{BASE}/application/pets", headers=tenant.bearer)).json()
    assert shown["auth_type"] == "keybased" and shown["type"] == "custom"
    connected = await client.post(
        f"{BASE}/application/pets/connection",
        json={"credentials": {"key": KEY}},
        headers=tenant.bearer,
    )
    assert connected.status_code == 200, connected.text
    fake.answer("GET", "/v1/pets/p%201", {"name": "Rex"})
    call = node(
        "2", "app_action", "Pet", action="get_pet", params={"pet_id": "p 1", "x_trace": "t9"}
    )
    published = await publish_chain(
        client, tenant, [node("1", "start", "Start"), call], slug="pets"
    )
    assert published.status_code == 200, published.text
    execution = await run(client, tenant, published.workflow_id)
    assert execution["status"] == "COMPLETED", execution
    assert step(execution, "2")["latest_output"] == {"name": "Rex"}
    (seen,) = fake.requests
    assert seen.target == "/v1/pets/p%201"
    assert (seen.headers["x-pets-key"], seen.headers["x-trace"]) == (KEY, "t9")

    # The document drops getPet and createPet: the live workflow keeps getPet, deprecated.
    again = await client.post(
        IMPORT,
        json={"document": text, "slug": "pets", "operations": ["listPets"]},
        headers=tenant.org_key,
    )
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["removed"] == ["create_pet", "get_pet"]
    assert body["deprecated"] == ["get_pet"]
    assert body["actions"] == ["list_pets", "get_pet"]
    (affected,) = body["affected_workflows"]
    assert affected["workflow_id"] == published.workflow_id and affected["actions"] == ["get_pet"]
    fake.requests.clear()
    execution = await run(client, tenant, published.workflow_id)
    assert execution["status"] == "COMPLETED", execution

    # Unpublished, nothing uses it: the next import drops it.
    await client.put(
        f"{BASE}/workflow/{published.workflow_id}/publish",
        json={"published": False},
        headers=tenant.bearer,
    )
    last = await client.post(
        IMPORT,
        json={"document": pets_document(fake.url), "slug": "pets", "operations": ["listPets"]},
        headers=tenant.org_key,
    )
    assert last.status_code == 200, last.text
    assert last.json()["actions"] == ["list_pets"] and last.json()["deprecated"] == []


class DocumentServer(RecordingServer):
    content_type = "application/yaml"

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__()

    def respond(self, request: Request) -> tuple[int, Any]:
        return (200, self.text.encode()) if request.path == "/openapi.yaml" else (404, b"no")


async def test_import_from_a_url_goes_through_the_outbound_guard(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    server = DocumentServer(yaml.safe_dump(pets_document("https://api.pets.test")))
    try:
        fetched = await client.post(
            IMPORT, json={"url": f"{server.url}/openapi.yaml"}, headers=tenant.org_key
        )
        assert fetched.status_code == 200, fetched.text
        assert fetched.json()["slug"] == "pets"
        missing = await client.post(
            IMPORT, json={"url": f"{server.url}/nope.yaml"}, headers=tenant.org_key
        )
        assert "answered 404" in assert_envelope(missing, 400, "FETCH_FAILED")["message"]
    finally:
        server.close()
    private = await client.post(
        IMPORT, json={"url": "http://10.1.2.3/openapi.json"}, headers=tenant.org_key
    )
    assert_envelope(private, 400, "FETCH_FAILED")


BOMB = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
)


@pytest.mark.parametrize(
    ("body", "code", "says"),
    [
        ({"document": "openapi: [3"}, "INVALID_OPENAPI", "neither JSON nor YAML"),
        ({"document": {"swagger": "2.0"}}, "INVALID_OPENAPI", "Swagger"),
        ({"document": {"openapi": "3.1.0", "info": {}}}, "INVALID_OPENAPI", "not valid OpenAPI"),
        ({"document": "title: not openapi"}, "INVALID_OPENAPI", "no `openapi` field"),
        ({"document": BOMB}, "INVALID_OPENAPI", "expands to more than"),
        ({}, "INVALID_INPUT", "exactly one of document and url"),
        ({"document": "{}", "url": "http://x.test/a"}, "INVALID_INPUT", "exactly one"),
        ({"url": "file:///etc/passwd"}, "INVALID_OPENAPI", "http(s)"),
        ({"document": "{}", "operations": [""]}, "INVALID_INPUT", "operations"),
    ],
)
async def test_bad_documents_answer_400_naming_the_problem(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], code: str, says: str
) -> None:
    answered = await client.post(IMPORT, json=body, headers=tenant.org_key)
    assert says in assert_envelope(answered, 400, code)["message"]


async def test_a_document_over_the_limit_answers_413_and_under_it_is_read(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    padding = "x" * (11 * 1024 * 1024)
    huge = await client.post(IMPORT, json={"document": padding}, headers=tenant.org_key)
    assert_envelope(huge, 413, "PAYLOAD_TOO_LARGE")
    document = pets_document("https://api.pets.test")
    document["info"]["description"] = "y" * (2 * 1024 * 1024)  # over the 1 MB default
    read = await client.post(
        IMPORT,
        content=json.dumps({"document": document}),
        headers={**tenant.org_key, "content-type": "application/json"},
    )
    assert read.status_code == 200, read.text


async def test_import_needs_the_org_key(client: httpx.AsyncClient, tenant: Tenant) -> None:
    answered = await client.post(IMPORT, json={"document": "{}"}, headers=tenant.bearer)
    assert answered.status_code in (401, 403)
