"""Browser fixtures: Debian's Chromium via Playwright, a live Weft per database, a host page.

Chromium missing is a failure, never a skip: `.ci/run` installs it with apt-get.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_servers import EditorTenant, HostPage, Sink, WeftServer, make_editor_tenant

from apps.oauth_server import OAuthTestServer
from weft.store.migrate import upgrade_to_head

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DATABASES = [d for d in os.environ.get("WEFT_TEST_DATABASES", "sqlite,postgres").split(",") if d]
ARTEFACTS = Path(
    os.environ.get("WEFT_E2E_ARTEFACTS", Path(__file__).parents[2] / "artefacts" / "e2e")
)


@pytest.fixture(scope="session")
def e2e_database_urls(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Databases of the browser tests' own: their server's worker must not claim other tests' runs.

    Migrated before Playwright starts (its loop forbids asyncio.run in this thread).
    """
    urls: dict[str, str] = {}
    for name in DATABASES:
        if name == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('e2e-sqlite') / 'weft.db'}"
        else:
            server = request.getfixturevalue("postgres_server")
            database = f"weft_e2e_{uuid.uuid4().hex[:8]}"
            server.psql(f"CREATE DATABASE {database};")
            uri = server.get_uri(database=database)
            url = uri.replace("postgresql://", "postgresql+asyncpg://", 1)
        upgrade_to_head(url)
        urls[name] = url
    return urls


# Module scope: Playwright's sync API keeps its event loop marked running in this thread, which
# would break every asyncio test collected after the browser tests.
@pytest.fixture(scope="module")
def browser(e2e_database_urls: dict[str, str]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session", params=DATABASES)
def e2e_database(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# Module scope: the server and its worker stop once a file's browser tests are done.
@pytest.fixture(scope="module")
def weft_server(
    e2e_database: str, e2e_database_urls: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WeftServer]:
    server = WeftServer(e2e_database_urls[e2e_database], tmp_path_factory.mktemp("weft-e2e"))
    yield server
    server.close()


@pytest.fixture(scope="session")
def host_page() -> Iterator[HostPage]:
    page = HostPage()
    yield page
    page.close()


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    yield server
    server.close()


@pytest.fixture
def oauth_provider(weft_server: WeftServer) -> Iterator[OAuthTestServer]:
    """A local OAuth2 provider that asks the user (Allow/Deny), its client registered for the
    live server's callback."""
    server = OAuthTestServer()
    server.register(f"{weft_server.url}/oauth/callback")
    server.state.consent_page = True
    yield server
    server.close()


@pytest.fixture
def editor_tenant(weft_server: WeftServer, host_page: HostPage) -> EditorTenant:
    tenant = make_editor_tenant(weft_server)
    tenant.allow_origins(host_page.origin)
    return tenant


@pytest.fixture
def context(browser: Any, weft_server: WeftServer) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1320, "height": 860})
    yield ctx
    ctx.close()


@pytest.fixture
def artefacts() -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return ARTEFACTS
