"""Fixtures for the outbound client: real servers on 127.0.0.1 and a spy on every TCP dial."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from outbound_servers import TinyServer

from support import record_outbound_dials
from weft.net import OutboundClient, OutboundPolicy


@pytest.fixture
async def server() -> AsyncIterator[TinyServer]:
    tiny = TinyServer()
    await tiny.start()
    yield tiny
    await tiny.stop()


@pytest.fixture
async def other_server() -> AsyncIterator[TinyServer]:
    tiny = TinyServer()
    await tiny.start()
    yield tiny
    await tiny.stop()


@pytest.fixture
def dials(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every address the socket layer was asked to connect to, recorded before connecting."""
    return record_outbound_dials(monkeypatch)


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., OutboundClient]]:
    """Build clients from an allow list and limits; all are closed after the test."""
    clients: list[OutboundClient] = []

    def build(allow: str = "", *, max_response_bytes: int = 1024, **kwargs: Any) -> OutboundClient:
        policy_keys = {"max_redirects", "timeout_s"}
        policy = OutboundPolicy.parse(
            allow,
            max_response_bytes=max_response_bytes,
            **{key: kwargs.pop(key) for key in policy_keys & kwargs.keys()},
        )
        client = OutboundClient(policy, **kwargs)
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()
