"""Browser fixtures: Debian's Chromium via Playwright, a live Weft per database, a host page.

Chromium missing is a failure, never a skip: `.ci/run` installs it with apt-get.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_servers import EditorTenant, HostPage, Sink, WeftServer, make_editor_tenant

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def databases_ready(request: pytest.FixtureRequest) -> None:
    """Migrate every test database before Playwright starts (its loop forbids asyncio.run)."""
    for name in DATABASES:
        request.getfixturevalue(f"{name}_url")


# Module scope: Playwright's sync API keeps its event loop marked running in this thread, which
# would break every asyncio test collected after the browser tests.
@pytest.fixture(scope="module")
def browser(databases_ready: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def weft_server(
    db_url_session: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WeftServer]:
    server = WeftServer(db_url_session, tmp_path_factory.mktemp("weft-e2e"))
    yield server
    server.close()


@pytest.fixture(
    scope="session",
    params=[d for d in os.environ.get("WEFT_TEST_DATABASES", "sqlite,postgres").split(",") if d],
)
def db_url_session(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


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
