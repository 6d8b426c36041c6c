"""`/workflows/new`: the editor page that starts a workflow (the template gallery, or the
template a host names with injected inputs). Odd links get a readable HTML page, never JSON
or a blank; what the page passes on, the API checks again (tests/apps/test_templates.py)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest
from test_editor_page import assert_html_page, built_bundle, injected_config

from support import Tenant

pytestmark = pytest.mark.integration

__all__ = ["built_bundle"]  # the fixture, used by name


def encoded(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


async def test_new_opens_the_gallery_and_passes_a_template_start_on(
    client: httpx.AsyncClient, tenant: Tenant, built_bundle: Path
) -> None:
    gallery = await client.get("/workflows/new", params={"token": tenant.token})
    assert gallery.status_code == 200, gallery.text
    config = injected_config(gallery.text)
    assert config["workflowId"] is None and config["template"] is None

    inputs = encoded({"channel": "C0123"})
    start = await client.get(
        "/workflows/new",
        params={"token": tenant.token, "template": "slack-welcome", "inputs": inputs},
    )
    assert start.status_code == 200, start.text
    config = injected_config(start.text)
    assert (config["template"], config["templateInputs"]) == ("slack-welcome", inputs)


@pytest.mark.parametrize(
    "params",
    [
        {"template": "<script>alert(1)</script>"},
        {"template": "Slack Welcome"},
        {"template": "ok", "inputs": "x" * 43_693},
        {"template": "ok", "inputs": "not base64!"},
        {"inputs": encoded({"a": 1})},
    ],
    ids=["markup", "spaces", "oversized", "not-base64url", "inputs-alone"],
)
async def test_odd_template_links_get_a_readable_page(
    client: httpx.AsyncClient, tenant: Tenant, built_bundle: Path, params: dict[str, str]
) -> None:
    refused = await client.get("/workflows/new", params={"token": tenant.token, **params})
    assert_html_page(refused, 400, "bad_template_start")
    assert "<script>alert" not in refused.text


async def test_new_still_needs_a_valid_token(client: httpx.AsyncClient, built_bundle: Path) -> None:
    refused = await client.get("/workflows/new", params={"token": "wst_nope", "template": "a"})
    assert_html_page(refused, 401, "invalid_token")
