"""The engine's services travel typed, and routes reach the app's state through one place.

`services: Any` hid what a function may touch, and `request.app.state` read in each route left
untyped, unchecked attributes spread over `api/` and `web/`. These scans keep both from coming
back: the app's state is read only by `weft.api.deps` (its `AppState` and the dependencies
`DbDep`, `SettingsDep`, `ServicesDep`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import weft

pytestmark = pytest.mark.unit

SOURCE = Path(weft.__file__).parent
THE_ONE_READER = SOURCE / "api" / "deps.py"

UNTYPED_SERVICES = re.compile(r"\bservices\s*:\s*['\"]?(typing\.)?Any\b")
APP_STATE = re.compile(r"""\bapp\.state\b|\[["']app["']\]\.state\b""")


def _lines_matching(pattern: re.Pattern[str], *, skip: Path | None = None) -> list[str]:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        if path == skip or "migrations" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(SOURCE)}:{number}: {line.strip()}")
    return found


def test_no_services_handle_is_typed_any() -> None:
    assert _lines_matching(UNTYPED_SERVICES) == []


def test_only_the_api_dependencies_read_the_app_state() -> None:
    assert _lines_matching(APP_STATE, skip=THE_ONE_READER) == []


def test_the_scans_see_what_they_guard_against() -> None:
    assert UNTYPED_SERVICES.search("async def f(services: Any, org_id: str) -> None:")
    assert UNTYPED_SERVICES.search("    services: 'Any'")
    assert not UNTYPED_SERVICES.search("    services: Services")
    assert APP_STATE.search("db = request.app.state.db")
    assert APP_STATE.search('await record(scope["app"].state.db)')
    assert not APP_STATE.search("request.state.org_id = org_id")
    assert APP_STATE.search(THE_ONE_READER.read_text(encoding="utf-8"))
