"""Driving the editor inside its host page: open it, find things by their accessible names, axe."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from e2e_servers import EditorTenant, HostPage
from playwright.sync_api import TimeoutError as PlaywrightTimeout

AXE = Path(__file__).parents[2] / "ui" / "node_modules" / "axe-core" / "axe.min.js"
# Violations that make the editor unusable for someone; minor/moderate ones are reported only.
BLOCKING_IMPACTS = {"serious", "critical"}


START = {
    "id": "1",
    "type": "start",
    "name": "Start",
    "position": {"x": 0, "y": 0},
    "data": {"trigger": "manual", "sample_payload": {"user_id": 42, "plan": "pro"}},
}


def wait_until(check: Any, timeout_s: float = 60, message: str = "condition") -> None:
    """Poll `check` until it is true. 60 s, as the suite's other browser waits: a list that
    filters on the server took over 20 s to show under four test processes' load."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")


def click_until_shown(target: Any, shown: Any, attempts: int = 3, timeout_ms: int = 10_000) -> Any:
    """Click `target` until `shown` appears; `shown`.

    A click that lands while the canvas is still fitting itself into view (its animation after
    a load) misses the step, as it would a person's; the person clicks again.
    """
    for attempt in range(attempts):
        target.click()
        try:
            shown.wait_for(timeout=timeout_ms)
            return shown
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise
    return shown


def through_popup(page: Any, open_it: Any, decision: str) -> None:
    """Open the OAuth popup with `open_it()`, press the provider's `decision` button (Allow or
    Deny) and wait until the page that opened the popup closes it."""
    with page.expect_popup() as opening:
        open_it()
    popup = opening.value
    with popup.expect_event("close"):
        popup.get_by_role("button", name=decision).click()


class EditorSession:
    """One browser page showing the host app with the editor framed in it."""

    def __init__(
        self, context: Any, host: HostPage, tenant: EditorTenant, workflow_id: str
    ) -> None:
        self.page = context.new_page()
        self.console_errors: list[str] = []
        self.requested: list[str] = []
        self.page.on("request", lambda request: self.requested.append(request.url))
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.console_errors.append(f"pageerror: {error}"))
        self.page.goto(host.url_for(tenant.editor_url(workflow_id)))
        self.frame = self.page.frame_locator("#editor")
        self.frame.get_by_role("button", name="Publish").wait_for(timeout=60000)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    @property
    def editor_frame(self) -> Any:
        """The Frame object of the editor (for evaluate())."""
        return next(f for f in self.page.frames if urlparse(f.url).path.startswith("/workflows/"))

    def search(self) -> Any:
        return self.frame.get_by_role("combobox", name="Search steps to add")

    def add_step(self, query: str) -> None:
        """Type in the palette and press Enter: the step goes after the current target."""
        self.search().fill(query)
        self.search().press("Enter")

    def find_in_palette(self, query: str, option: Any) -> Any:
        """Click the palette's search, type `query` key by key, and wait for the option named
        `option` (a string or a pattern); Enter then adds the first match."""
        search = self.search()
        search.click()
        search.press_sequentially(query)
        self.frame.get_by_role("option", name=option).wait_for()
        return search

    def node(self, name: str) -> Any:
        return self.frame.get_by_test_id(f"node-{name}")

    def select(self, name: str) -> None:
        self.node(name).click()

    def open_step(self, name: str, shows: str, attempts: int = 3) -> Any:
        """Click step `name` until its panel shows the element labelled `shows`; that element."""
        return click_until_shown(self.node(name), self.frame.get_by_label(shows), attempts)

    def saved(self, timeout_s: float = 15) -> None:
        """Wait for autosave to settle."""
        self.frame.get_by_test_id("save-state").filter(has_text="All changes saved").wait_for(
            timeout=timeout_s * 1000
        )

    def host_messages(self) -> list[dict]:
        return self.page.evaluate("window.weftMessages")

    def wait_for_message(self, kind: str, timeout_s: float = 20) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for message in self.host_messages():
                if message["type"] == kind:
                    return message
            time.sleep(0.1)
        raise AssertionError(f"no {kind!r} message; got {self.host_messages()}")

    def axe_violations(self) -> list[dict]:
        """Serious or critical axe-core violations in the editor frame."""
        if not AXE.exists():
            raise AssertionError(f"{AXE} is missing: run `make ui` (npm ci) first")
        frame = self.editor_frame
        if not frame.evaluate("typeof axe !== 'undefined'"):  # a page keeps it: load once
            frame.evaluate(AXE.read_text())
        result = frame.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        return [v for v in result if v.get("impact") in BLOCKING_IMPACTS]

    def screenshot(self, directory: Path, name: str) -> Path:
        path = directory / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


def describe(violations: list[dict]) -> str:
    """Readable axe output for an assertion message."""
    return json.dumps(
        [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"][:3]]}
            for v in violations
        ],
        indent=1,
    )
