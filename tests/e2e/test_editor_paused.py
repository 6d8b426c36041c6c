"""A workflow that paused itself after failed runs in a row, in the editor: the banner says why,
opens the failed run in one click, and Resume starts its triggers again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from editor_page import START, EditorSession, wait_until

pytestmark = pytest.mark.slow

API = "/api/v2/public"
FAIL = {
    "id": "2",
    "type": "end",
    "name": "Fail",
    "position": {"x": 0, "y": 160},
    "data": {"status": "failed"},
}


def paused_after_two_failures(tenant: Any) -> str:
    """A published workflow that fails every run, run twice under a limit of two."""
    limited = httpx.put(
        tenant.server_url + API + "/org/settings",
        json={"pause_after_failures": 2},
        headers={"x-api-key": tenant.org_key},
        timeout=30,
    )
    limited.raise_for_status()
    workflow_id = tenant.create_workflow(
        "Nightly sync", [START, FAIL], [{"source": START["id"], "target": "2"}]
    )
    tenant.api(
        "PUT", f"/workflow/{workflow_id}/publish", json={"published": True}
    ).raise_for_status()
    for _ in range(2):
        tenant.api("POST", f"/workflow/{workflow_id}/execute", json={}).raise_for_status()
    wait_until(
        lambda: tenant.api("GET", f"/workflow/{workflow_id}/pause").json()["paused"],
        timeout_s=30,
        message="the workflow paused itself",
    )
    return workflow_id


def test_banner_explains_the_pause_opens_the_failed_run_and_resumes(
    context: Any, host_page: Any, editor_tenant: Any, artefacts: Path
) -> None:
    workflow_id = paused_after_two_failures(editor_tenant)
    refused = editor_tenant.api("POST", f"/workflow/{workflow_id}/execute", json={})
    assert refused.status_code == 409 and refused.json()["error_code"] == "WORKFLOW_PAUSED"

    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame
    banner = frame.get_by_role("alert").filter(has_text="Paused after 2 failed runs in a row")
    banner.wait_for()
    assert "The last run failed: Ended by an end node." in banner.inner_text()
    editor.screenshot(artefacts, "paused-banner")

    banner.get_by_role("button", name="Open the failed run").click()
    viewing = frame.get_by_role("status").filter(has_text="Viewing a run")
    viewing.wait_for()
    assert "failed" in viewing.inner_text()
    editor.screenshot(artefacts, "paused-failed-run")
    viewing.get_by_role("button", name="Back to the draft").click()

    banner.get_by_role("button", name="Resume").click()
    banner.wait_for(state="detached")
    frame.get_by_text("Resumed: its triggers run again").wait_for()
    editor.screenshot(artefacts, "paused-resumed")
    state = editor_tenant.api("GET", f"/workflow/{workflow_id}/pause").json()
    assert (state["paused"], state["streak"]) == (False, 0)
    started = editor_tenant.api("POST", f"/workflow/{workflow_id}/execute", json={})
    assert started.status_code == 200, started.text
    assert editor.console_errors == []
