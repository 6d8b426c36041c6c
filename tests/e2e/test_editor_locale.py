"""The editor in the host's language and colours: German from the address, French by a
`setLocale` message, dates formatted for the locale; dark from the browser's preference or
the host's `setTheme`, reaching the minimap, with no serious axe finding at 360 and 1280 px
(main views, a sticky note, the pin editor and the replay dialog included).
Screenshots: artefacts/e2e/locale-*.png and dark-*.png."""

from __future__ import annotations

import httpx
import pytest
from editor_page import START, describe, wait_until
from test_editor_widths import axe_violations

pytestmark = pytest.mark.slow

END = {"id": "2", "type": "end", "name": "Done", "position": {"x": 0, "y": 140}, "data": {}}
EDGES = [{"id": "e1-2", "source": "1", "target": "2", "sourceHandle": None, "targetHandle": None}]
SHAPE = {
    "id": "3",
    "type": "transform",
    "name": "Shape",
    "position": {"x": 0, "y": 140},
    "data": {"value": {"plan": "{{ trigger.plan }}"}},
}
# Start → Shape → Done: a step that can be pinned.
SHAPED = [
    {"id": "e1-3", "source": "1", "target": "3", "sourceHandle": None, "targetHandle": None},
    {"id": "e3-2", "source": "3", "target": "2", "sourceHandle": None, "targetHandle": None},
]
# HistoryPanels.tsx's `when`: how a version's date is shown.
WHEN = (
    "{month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',"
    " hourCycle: 'h23'}"
)
THEME = "document.documentElement.dataset.theme"
SURFACE = "e => getComputedStyle(e).backgroundColor"


def published_workflow(tenant, name: str, nodes=(START, END), edges=EDGES) -> tuple[str, str]:
    """A workflow with one published version; its id and the version's creation time."""
    workflow_id = tenant.create_workflow(name, list(nodes), edges)
    published = tenant.api("PUT", f"/workflow/{workflow_id}/publish", json={"published": True})
    assert published.is_success, published.text
    version = tenant.api("GET", f"/workflow/{workflow_id}/versions/1")
    assert version.is_success, version.text
    return workflow_id, version.json()["createdAt"]


def framed(host_page, editor_url: str, **params: str) -> str:
    """The host page framing the editor at `editor_url` with more query `params` (encoded, so
    they reach the editor rather than the host page)."""
    src = f"{editor_url}&{httpx.QueryParams(params)}"
    return f"{host_page.origin}/?{httpx.QueryParams({'src': src})}"


def shown_date(frame, locale: str, iso: str) -> str:
    return frame.evaluate(f"new Intl.DateTimeFormat({locale!r}, {WHEN}).format(new Date({iso!r}))")


def test_german_from_the_address_then_french_by_set_locale(
    context, host_page, editor_tenant, artefacts
):
    workflow_id, created = published_workflow(editor_tenant, "Sprachen")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(framed(host_page, editor_tenant.editor_url(workflow_id), locale="de-DE"))
    frame = page.frame_locator("#editor")

    frame.get_by_role("button", name="Veröffentlichen").wait_for(timeout=60000)
    for name in ("Testen", "Verwerfen", "Weitere Aktionen"):
        frame.get_by_role("button", name=name, exact=True).wait_for()
    # The views merged from the other editor work are German too (replay, notes, minimap).
    for name in ("Was ändert sich?", "Notiz hinzufügen", "Übersichtskarte ausblenden"):
        frame.get_by_role("button", name=name, exact=True).wait_for()
    frame.get_by_test_id("save-state").filter(has_text="Alle Änderungen gespeichert").wait_for()
    editor_frame = next(f for f in page.frames if "/workflows/" in f.url)
    assert editor_frame.evaluate("document.documentElement.lang") == "de"
    assert editor_frame.evaluate("location.search").find("locale=de-DE") >= 0

    # Step types (named by the server in English) and the canvas's trigger card are German too.
    frame.get_by_role("option", name="HTTP-Anfrage").wait_for()
    frame.get_by_test_id("node-Start").filter(has_text="API-Aufruf").wait_for()
    frame.get_by_role("tab", name="Versionen").click()
    german = shown_date(editor_frame, "de", created)
    assert german != shown_date(editor_frame, "en", created)
    version = frame.get_by_role("list", name="Veröffentlichte Versionen").get_by_role("listitem")
    version.filter(has_text="Version 1").filter(has_text=german).wait_for(timeout=60000)
    page.screenshot(path=str(artefacts / "locale-de.png"))

    page.evaluate("sendToEditor('setLocale', {locale: 'fr-CA'})")
    frame.get_by_role("button", name="Publier").wait_for(timeout=60000)
    for name in ("Tester", "Abandonner", "Plus d\u2019actions"):
        frame.get_by_role("button", name=name, exact=True).wait_for()
    wait_until(
        lambda: editor_frame.evaluate("document.documentElement.lang") == "fr", message="lang"
    )
    frame.get_by_role("option", name="Requête HTTP").wait_for()
    frame.get_by_text("Choisissez une étape pour l\u2019ajouter").wait_for()
    frame.get_by_test_id("node-Start").filter(has_text="Appel d\u2019API").wait_for()
    french = shown_date(editor_frame, "fr", created)
    assert french not in (german, shown_date(editor_frame, "en", created))
    frame.get_by_role("list", name="Versions publiées").get_by_role("listitem").filter(
        has_text=french
    ).wait_for(timeout=60000)
    # A locale the editor does not have changes nothing.
    page.evaluate("sendToEditor('setLocale', {locale: 'xx'})")
    page.evaluate("sendToEditor('setLocale', {locale: 42})")
    frame.get_by_role("tab", name="Étape").click()
    frame.get_by_role("button", name="Publier").wait_for()
    page.screenshot(path=str(artefacts / "locale-fr.png"))
    assert errors == []


def show(page, view: str) -> None:
    """Bring up one of the editor's main views."""
    if (
        view in ("step", "versions", "tested")
        and not page.get_by_role("complementary", name="Details").count()
    ):
        page.get_by_role("button", name="Details panel").click()  # folded in a narrow frame
    if view == "step":
        page.get_by_test_id("node-Done").click()
        page.get_by_label("Step name").wait_for()
    elif view == "versions":
        page.get_by_role("tab", name="Versions").click()
        page.get_by_role("list", name="Published versions").get_by_role("listitem").wait_for()
    elif view == "tested":
        page.get_by_role("button", name="Test", exact=True).click()
        page.get_by_role("list", name="Steps of the test run").wait_for(timeout=60000)
    elif view == "shortcuts":
        page.get_by_role("button", name="More actions").click()
        page.get_by_role("menuitem", name="Keyboard shortcuts").click()
        page.get_by_role("dialog", name="Keyboard shortcuts").wait_for()
    elif view == "note":
        page.get_by_role("button", name="Add note").click()
        page.get_by_role("textbox", name="Note text").last.fill("Ask Ops first")  # one per width
    elif view == "pin":
        page.get_by_test_id("node-Shape").click()
        page.get_by_role("button", name="Pin data…").click()
        page.get_by_text("Valid JSON.").wait_for()
    elif view == "replay":
        wide = page.get_by_role("button", name="What changes?")
        if wide.is_visible():
            wide.click()
        else:
            page.get_by_role("button", name="More actions").click()
            page.get_by_role("menuitem", name="What changes if I publish…").click()
        dialog = page.get_by_role("dialog", name="What changes if I publish")
        dialog.get_by_role("button", name="Replay", exact=True).click()
        dialog.get_by_role("status").filter(has_text="No change").wait_for(timeout=60_000)
        dialog.get_by_test_id("replay-run").wait_for()


def test_dark_mode_reaches_every_view_without_serious_axe_findings(
    browser, editor_tenant, artefacts
):
    workflow_id, _ = published_workflow(
        editor_tenant, "Dark", (START, SHAPE, {**END, "position": {"x": 0, "y": 280}}), SHAPED
    )
    ran = editor_tenant.api(
        "POST",
        f"/workflow/{workflow_id}/execute",
        json={"payload": {"plan": "pro"}, "sync_execution": True},
    )
    assert ran.status_code == 200, ran.text  # a live run for the replay dialog
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        for width in (360, 1280):
            page = context.new_page()
            page.emulate_media(color_scheme="dark")
            page.set_viewport_size({"width": width, "height": 800})
            page.goto(editor_tenant.editor_url(workflow_id))
            page.get_by_test_id("node-Done").wait_for(timeout=60000)
            assert page.evaluate(THEME) == "dark"
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background == "rgb(15, 17, 21)", background
            if width == 1280:
                # The minimap's nodes and background follow the palette, not React Flow's white.
                minimap = page.locator(".react-flow__minimap")
                assert minimap.evaluate(SURFACE) == "rgb(24, 27, 33)"
                fill = page.locator(".react-flow__minimap-node").first.evaluate(
                    "e => getComputedStyle(e).fill"
                )
                assert fill == "rgb(71, 78, 91)", fill
            for view in ("canvas", "note", "step", "pin", "versions", "tested", "replay"):
                if view != "canvas":
                    show(page, view)
                page.screenshot(path=str(artefacts / f"dark-{width}-{view}.png"))
                violations = axe_violations(page)
                assert violations == [], (view, width, describe(violations))
                if view == "replay":
                    page.get_by_role("button", name="Close").click()
            show(page, "shortcuts")
            page.screenshot(path=str(artefacts / f"dark-{width}-shortcuts.png"))
            violations = axe_violations(page)
            assert violations == [], ("shortcuts", width, describe(violations))
            page.close()
    finally:
        context.close()


def test_the_host_theme_wins_over_the_browser(context, host_page, editor_tenant, artefacts):
    workflow_id = editor_tenant.create_workflow("Host theme", [START, END], EDGES)
    page = context.new_page()
    page.emulate_media(color_scheme="dark")
    page.goto(framed(host_page, editor_tenant.editor_url(workflow_id), theme="light"))
    frame = page.frame_locator("#editor")
    frame.get_by_test_id("node-Done").wait_for(timeout=60000)
    editor = next(f for f in page.frames if "/workflows/" in f.url)
    assert editor.evaluate(THEME) == "light"

    page.evaluate(
        "sendToEditor('setTheme', {scheme: 'dark', colors: {'--surface': 'rgb(1, 2, 3)'}})"
    )
    wait_until(lambda: editor.evaluate(THEME) == "dark", message="dark")
    wait_until(
        lambda: frame.locator(".react-flow__minimap").evaluate(SURFACE) == "rgb(1, 2, 3)",
        message="the minimap follows the host's --surface",
    )
    page.evaluate("sendToEditor('setTheme', {scheme: 'auto'})")
    wait_until(lambda: editor.evaluate(THEME) == "dark", message="auto follows the browser")
    page.emulate_media(color_scheme="light")
    wait_until(lambda: editor.evaluate(THEME) == "light", message="the browser turned light")
    page.evaluate("sendToEditor('setTheme', {scheme: 'purple'})")
    page.screenshot(path=str(artefacts / "dark-host-theme.png"))
    assert editor.evaluate(THEME) == "light"
