"""The start node's triggers with help, by mouse and keyboard only: a draft's webhook URL copied
before any publish, a weekly schedule built with the builder showing its next five runs in the
browser's timezone, and a GitHub app trigger picked with its parameters; the Start card names
each. Screenshots go to WEFT_TRIGGER_SHOTS (default /tmp/trighelp-shots)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from editor_page import START, EditorSession, click_until_shown, wait_until

pytestmark = pytest.mark.slow

SHOTS = Path(os.environ.get("WEFT_TRIGGER_SHOTS", "/tmp/trighelp-shots"))


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


@pytest.fixture
def paris(browser: Any, weft_server: Any) -> Iterator[Any]:
    """A browser in Paris that may use the clipboard (the copy button's target)."""
    ctx = browser.new_context(viewport={"width": 1320, "height": 860}, timezone_id="Europe/Paris")
    origin = "{0.scheme}://{0.netloc}".format(urlparse(weft_server.url))
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    yield ctx
    ctx.close()


def test_webhook_url_schedule_builder_and_app_trigger(paris, host_page, editor_tenant):
    workflow_id = editor_tenant.create_workflow("Triggers", [START])
    editor = EditorSession(paris, host_page, editor_tenant, workflow_id)
    frame = editor.frame
    editor.open_step("Start", "Starts on")
    start = editor.node("Start")
    assert "API call" in start.inner_text()

    # 1. Webhook: the draft has its URL before any publish; Copy puts it on the clipboard.
    frame.get_by_role("radio", name="Webhook").click()
    editor.saved()
    url_field = frame.get_by_role("textbox", name="Webhook URL")
    url_field.wait_for()
    url = url_field.input_value()
    assert re.search(r"^http://[^/]+/hooks/[\w-]+$", url), url
    frame.get_by_text("starts runs once you publish").wait_for()
    frame.get_by_role("button", name="Copy the webhook URL").click()
    frame.get_by_role("button", name="Copy the webhook URL").filter(has_text="Copied").wait_for()
    search = editor.search()  # paste it somewhere a person would see it
    search.click()
    search.press("Control+V")
    wait_until(lambda: search.input_value() == url, message="the pasted URL")
    search.press("Escape")
    search.fill("")
    assert "Webhook" in start.inner_text()
    shot(editor.page, "1-webhook-url-copied")

    # 2. Schedule: every Monday at 09:00, next five runs shown in the browser's timezone.
    frame.get_by_role("radio", name="Schedule").click()
    frame.get_by_label("Repeat", exact=True).select_option("weekly")
    frame.get_by_label("Day", exact=True).select_option("Monday")
    editor.saved()
    runs = frame.get_by_role("list", name="Next runs").get_by_role("listitem")
    wait_until(lambda: runs.count() == 5, message="five next runs")
    shown = runs.all_inner_texts()
    assert all("Mon" in r and "09:00" in r for r in shown), shown
    assert frame.get_by_label("Timezone", exact=True).input_value() == "Europe/Paris"
    frame.get_by_text("Shown in Europe/Paris.").wait_for()
    wait_until(lambda: "Every Monday at 09:00" in start.inner_text(), message="the Start card")
    frame.get_by_role("list", name="Next runs").scroll_into_view_if_needed()
    shot(editor.page, "2-schedule-next-runs")
    # A raw cron keeps the builder honest: a broken one says why, and shows no runs.
    frame.get_by_label("Repeat", exact=True).select_option("cron")
    cron = frame.get_by_label("Cron expression")
    cron.click()
    cron.press("End")
    cron.press("Backspace")
    cron.press("Backspace")
    # The field's own alert: the problems list above the canvas may say it too, and sooner.
    frame.locator("p.field-problem").filter(has_text="5 fields").wait_for()
    cron.press_sequentially(" 1-5")
    wait_until(lambda: runs.count() == 5, message="runs of the fixed cron")
    assert "Schedule · 0 9 * * 1-5" in start.inner_text()
    editor.saved()

    # 3. App trigger: pick GitHub, its repository event, and the parameters it needs.
    frame.get_by_role("radio", name="App trigger").click()
    frame.get_by_label("App", exact=True).select_option("github")
    frame.get_by_label("Trigger", exact=True).select_option("repository_event")
    panel = frame.get_by_role("region", name="Step Start")
    problems = frame.get_by_role("alert", name="Problems that stop publishing")
    editor.saved()
    problems.filter(has_text="params.owner").wait_for()
    for name, value in (("owner", "weft-dev"), ("repo", "weft")):
        field = panel.locator(f"[data-field='f-params.{name}'] .cm-content")
        field.click()
        field.press_sequentially(value)
    editor.saved()
    problems.filter(has_text="params.owner").wait_for(state="detached")
    assert "GitHub · Repository event" in start.inner_text()
    frame.get_by_test_id("connection-status").filter(has_text="Not connected").wait_for()
    shot(editor.page, "3-app-trigger")
    assert editor.console_errors == []


def test_the_trigger_panel_fits_a_narrow_frame(browser, editor_tenant):
    workflow_id = editor_tenant.create_workflow("Narrow triggers", [START])
    narrow = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        page = narrow.new_page()
        page.goto(editor_tenant.editor_url(workflow_id))
        page.get_by_role("button", name="Publish").wait_for(timeout=60000)
        kinds = page.get_by_role("radiogroup", name="Starts on")
        click_until_shown(page.get_by_test_id("node-Start"), kinds, timeout_ms=5000)
        kinds.get_by_role("radio", name="API call").focus()
        page.keyboard.press("ArrowRight")  # Webhook
        page.keyboard.press("ArrowRight")  # Schedule
        page.get_by_role("list", name="Next runs").get_by_role("listitem").nth(4).wait_for()
        page.screenshot(path=str(SHOTS / "4-narrow-schedule.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        narrow.close()
