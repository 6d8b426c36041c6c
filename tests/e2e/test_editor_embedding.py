"""The embedded editor's edges: tokens, framing origins, postMessage, conflicts, versions."""

from __future__ import annotations

import httpx
import pytest
from e2e_servers import API, HostPage
from editor_page import START, EditorSession, describe, wait_until

pytestmark = pytest.mark.slow


def test_a_bad_token_gets_the_error_page(context, editor_tenant, artefacts):
    workflow_id = editor_tenant.create_workflow("Private", [START])
    page = context.new_page()
    response = page.goto(editor_tenant.editor_url(workflow_id, token="wst_not_a_real_token"))
    assert response.status == 401
    assert response.headers["content-type"].startswith("text/html")
    assert page.get_by_role("heading").count() >= 1
    page.screenshot(path=str(artefacts / "error-page.png"))


def test_an_origin_not_in_allowed_origins_cannot_frame_the_editor(context, editor_tenant):
    workflow_id = editor_tenant.create_workflow("Framed", [START])
    stranger = HostPage()
    try:
        page = context.new_page()
        page.goto(stranger.url_for(editor_tenant.editor_url(workflow_id)))
        page.wait_for_timeout(1500)
        editor_frames = [f for f in page.frames if f != page.main_frame]
        assert editor_frames, "the host page has its iframe"
        for frame in editor_frames:
            assert frame.locator("#root").count() == 0, (
                "the editor rendered inside a foreign origin"
            )
    finally:
        stranger.close()


def test_host_refreshes_the_token_and_sets_the_theme_over_post_message(
    context, host_page, editor_tenant
):
    workflow_id = editor_tenant.create_workflow("Embedded", [START])
    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    assert editor.wait_for_message("ready")["payload"]["workflowId"] == workflow_id
    assert "token=" not in editor.editor_frame.url, "the token left the address bar"

    editor.page.evaluate("sendToEditor('setTheme', {colors: {'--accent': 'rgb(15, 118, 110)'}})")
    accent = "getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"
    wait_until(lambda: editor.editor_frame.evaluate(accent) == "rgb(15, 118, 110)", message="theme")

    # A fresh token replaces the old one, which is then revoked: the editor keeps saving.
    org = {"x-api-key": editor_tenant.org_key}
    fresh = httpx.post(
        editor_tenant.server_url + API + "/session-token",
        headers=org,
        json={"linked_account_id": "cust-1"},
        timeout=30,
    ).json()["token"]
    editor.page.evaluate(f"sendToEditor('setToken', {{token: {fresh!r}}})")
    revoked = httpx.post(
        editor_tenant.server_url + API + "/session-token/revoke",
        headers=org,
        json={"token": editor_tenant.token},
        timeout=30,
    )
    assert revoked.json()["revoked"] == 1
    editor.add_step("end")
    editor.saved()
    draft = httpx.get(
        editor_tenant.server_url + API + f"/workflow/{workflow_id}/edit",
        headers={"Authorization": f"Bearer {fresh}"},
        timeout=30,
    ).json()
    assert [n["type"] for n in draft["nodes"]] == ["start", "end"]
    assert editor.wait_for_message("dirtyChanged")
    assert editor.console_errors == []


def test_a_second_tabs_save_makes_the_first_see_the_conflict_dialog(
    context, host_page, editor_tenant, artefacts
):
    workflow_id = editor_tenant.create_workflow("Shared", [START])
    first = EditorSession(context, host_page, editor_tenant, workflow_id)
    second = EditorSession(context, host_page, editor_tenant, workflow_id)

    second.add_step("end")
    second.saved()

    first.add_step("transform")
    dialog = first.frame.get_by_role("dialog", name="This draft was changed elsewhere")
    dialog.wait_for(timeout=15000)
    first.screenshot(artefacts, "conflict")
    dialog.get_by_role("button", name="Reload their version").click()
    first.node("End").wait_for()
    assert first.node("Transform data").count() == 0
    first.saved()


def test_an_old_version_is_restored_into_the_draft(context, host_page, editor_tenant, artefacts):
    step = {
        "id": "2",
        "type": "end",
        "name": "Old ending",
        "position": {"x": 0, "y": 140},
        "data": {},
    }
    edges = [
        {"id": "e1-2", "source": "1", "target": "2", "sourceHandle": None, "targetHandle": None}
    ]
    workflow_id = editor_tenant.create_workflow("Versions", [START, step], edges)
    assert editor_tenant.api(
        "PUT", f"/workflow/{workflow_id}/publish", json={"published": True}
    ).is_success
    renamed = {**step, "name": "New ending"}
    editor_tenant.api(
        "PUT", f"/workflow/{workflow_id}/draft", json={"nodes": [START, renamed], "edges": edges}
    )
    assert editor_tenant.api(
        "PUT", f"/workflow/{workflow_id}/publish", json={"published": True}
    ).is_success

    editor = EditorSession(context, host_page, editor_tenant, workflow_id)
    frame = editor.frame
    editor.node("New ending").wait_for()
    frame.get_by_role("tab", name="Versions").click()
    frame.get_by_role("listitem").filter(has_text="Version 1").get_by_role(
        "button", name="Compare with draft"
    ).click()
    frame.get_by_text("Draft compared with version 1").wait_for()
    editor.screenshot(artefacts, "versions")
    assert editor.axe_violations() == [], describe(editor.axe_violations())
    frame.get_by_role("button", name="Back to the draft").click()

    frame.get_by_role("button", name="Restore version 1 into the draft").click()
    frame.get_by_role("dialog").get_by_role("button", name="Restore into draft").click()
    editor.node("Old ending").wait_for()
    draft = editor_tenant.api("GET", f"/workflow/{workflow_id}/edit").json()
    assert [n["name"] for n in draft["nodes"] if n["type"] == "end"] == ["Old ending"]
    assert editor.console_errors == []
