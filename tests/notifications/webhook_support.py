"""Helpers for the webhook tests: mount the router, and what they need from tests/conftest.py.

`from conftest import ...` is not used here: once tests/net has been collected, the module name
`conftest` resolves to tests/net/conftest.py, so the shared fixtures' types and the envelope
check are restated (as a Protocol and a copy) instead.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx
from fastapi import FastAPI

from weft.api.notification_webhooks import router

BASE = "/api/v2/public"


class Tenant(Protocol):
    """The shape of the `tenant` fixture's value (tests/conftest.py)."""

    org_id: str
    keys: dict[str, str]
    account_id: str

    @property
    def bearer(self) -> dict[str, str]: ...

    @property
    def org_key(self) -> dict[str, str]: ...


def include_webhook_routes(app: FastAPI) -> None:
    """Add `/webhook` routes under the public prefix unless the app already serves them."""
    if not any(getattr(route, "path", None) == f"{BASE}/webhook" for route in app.routes):
        app.include_router(router, prefix=BASE)


def assert_envelope(response: httpx.Response, status: int, error_code: str) -> dict[str, Any]:
    """The response is Refold's error envelope with this status and code."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) >= {"status_code", "http_error_type", "error_code", "message", "request_id"}
    assert body["status_code"] == status and body["error_code"] == error_code, body
    assert body["request_id"] == response.headers["x-request-id"]
    return body
