"""Test helpers shared across folders (import them from here, never from `conftest`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx

# The databases every database test runs on (`WEFT_TEST_DATABASES=sqlite` while iterating).
DATABASES = [d for d in os.environ.get("WEFT_TEST_DATABASES", "sqlite,postgres").split(",") if d]


def asyncpg_url(server: Any, database: str) -> str:
    """The SQLAlchemy URL of `database` on an embedded PostgreSQL server."""
    # get_uri() gives postgresql://postgres:@/db?host=/socket/dir
    return server.get_uri(database=database).replace("postgresql://", "postgresql+asyncpg://", 1)


@dataclass
class Tenant:
    """An org with keys, and one linked account with a session token."""

    org_id: str
    keys: dict[str, str]
    account_id: str
    token: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def org_key(self) -> dict[str, str]:
        return {"x-api-key": self.keys["test"]}

    def as_org(self, account_id: str | None = None) -> dict[str, str]:
        return {**self.org_key, "linked_account_id": account_id or self.account_id}


TenantFactory = Callable[..., Coroutine[Any, Any, Tenant]]


def assert_envelope(response: httpx.Response, status: int, error_code: str | None = None) -> dict:
    """The response is Refold's error envelope with this status (and code)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"status_code", "http_error_type", "error_code", "message", "request_id"}
    assert body["status_code"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    if error_code:
        assert body["error_code"] == error_code, body
    return body
