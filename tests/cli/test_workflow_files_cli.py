"""`weft workflow export/import` and `weft org pull/push` on SQLite and PostgreSQL: a pull then
a push changes nothing, an edited file publishes a new version, a broken one changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from weft.cli import app

pytestmark = pytest.mark.integration


def public_file(name: str, value: str) -> dict[str, Any]:
    return {
        "format_version": 1,
        "name": name,
        "app": "slack",
        "nodes": [
            {
                "id": "1",
                "type": "start",
                "name": "Start",
                "data": {"trigger": "event", "event": "e"},
            },
            {"id": "2", "type": "transform", "name": "Shape", "data": {"value": value}},
        ],
        "edges": [{"source": "1", "target": "2"}],
        "settings": {"data_slots": [{"name": "channel", "field_type": "text"}]},
    }


@pytest.fixture
def weft(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("WEFT_DATABASE_URL", db_url)
    monkeypatch.setenv("WEFT_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(app, list(args))
        assert (result.exit_code == 0) is ok, (result.output, result.exception)
        return result

    return run


def snapshot(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def test_pull_then_push_changes_nothing_and_an_edit_publishes_a_new_version(
    weft: Any, tmp_path: Path
) -> None:
    org = json.loads(weft("org", "create", "--name", "Files", "--json").stdout)["org_id"]
    sources = tmp_path / "sources"
    sources.mkdir()
    for name in ("Lead alert", "Lead alert", "Deal won"):  # a repeated name gets its own key
        path = sources / "in.json"
        path.write_text(json.dumps(public_file(name, f"{{{{ trigger.{name[0].lower()} }}}}")))
        weft("workflow", "import", str(path), "--org", org, "--publish")

    repo = tmp_path / "repo"
    pulled = json.loads(weft("org", "pull", str(repo), "--org", org, "--json").stdout)
    assert pulled["written"] == ["deal-won", "lead-alert", "lead-alert-2"]
    files = snapshot(repo)
    text = files["lead-alert.json"].decode()
    assert text.endswith("}\n") and '\n  "edges": [' in text and '"key": "lead-alert"' in text

    pushed = weft("org", "push", str(repo), "--org", org)
    assert "3 file(s): 0 changed" in pushed.stdout
    again = weft("org", "pull", str(repo), "--org", org)
    assert "0 changed" in again.stdout
    assert snapshot(repo) == files, "zero diff"

    edited = json.loads(text)
    edited["nodes"][1]["data"]["value"] = "{{ trigger.changed }}"
    edited["name"] = "Lead alert (renamed)"
    (repo / "lead-alert.json").write_text(json.dumps(edited))
    (repo / "new-one.json").write_text(json.dumps(public_file("New one", "{{ 1 }}")))
    pushed = json.loads(weft("org", "push", str(repo), "--org", org, "--json").stdout)
    assert pushed["changed"] == 2, pushed
    assert (pushed["created"], pushed["updated"]) == (["new-one"], ["lead-alert"])
    assert pushed["changes"] == {"lead-alert": ["name", "nodes 2"]}

    pulled = json.loads(weft("org", "pull", str(repo), "--org", org, "--json").stdout)
    assert pulled["written"] == ["lead-alert", "new-one"], "rewritten in the stable format"
    files = snapshot(repo)
    assert json.loads(files["lead-alert.json"])["name"] == "Lead alert (renamed)"
    assert "0 changed" in weft("org", "push", str(repo), "--org", org).stdout
    assert "0 changed" in weft("org", "pull", str(repo), "--org", org).stdout
    assert snapshot(repo) == files


def test_a_push_with_a_broken_file_lists_its_problems_and_changes_nothing(
    weft: Any, tmp_path: Path
) -> None:
    org = json.loads(weft("org", "create", "--name", "Files", "--json").stdout)["org_id"]
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "good.json").write_text(json.dumps(public_file("Good", "{{ 1 }}")))
    broken = public_file("Broken", "{{ nodes.nowhere }}")
    broken["app"] = "no-such-app"
    (repo / "broken.json").write_text(json.dumps(broken))
    refused = weft("org", "push", str(repo), "--org", org, ok=False)
    assert "broken.json: $.app: UNKNOWN_APP" in refused.output
    assert "broken.json: $.nodes[1].data.value: UNKNOWN_NODE_REFERENCE" in refused.output
    pulled = json.loads(weft("org", "pull", str(tmp_path / "out"), "--org", org, "--json").stdout)
    assert pulled["workflows"] == 0, "nothing was created"


def test_a_private_workflow_exports_and_imports_for_a_linked_account(
    weft: Any, tmp_path: Path
) -> None:
    org = json.loads(weft("org", "create", "--name", "Files", "--json").stdout)["org_id"]
    weft("linked-account", "create", "--org", org, "--id", "cust-1")
    file = public_file("Mine", "{{ trigger.x }}")
    file["app"], file["settings"] = "custom", {}
    file["nodes"][0]["data"] = {"trigger": "manual"}
    source = tmp_path / "mine.json"
    source.write_text(json.dumps(file))
    made = weft("workflow", "import", str(source), "--org", org, "--linked-account", "cust-1")
    assert "as a draft" in made.stdout
    made = weft(
        "workflow", "import", str(source), "--org", org, "--linked-account", "cust-1",
        "--publish", "--json",
    )  # fmt: skip
    workflow_id = json.loads(made.stdout)["workflow_id"]
    out = tmp_path / "out.json"
    weft(
        "workflow",
        "export",
        workflow_id,
        "--org",
        org,
        "--linked-account",
        "cust-1",
        "-o",
        str(out),
    )
    exported = json.loads(out.read_text())
    assert exported["nodes"][1]["data"] == {"value": "{{ trigger.x }}"}
    assert "key" not in exported
    hidden = weft("workflow", "export", workflow_id, "--org", org, ok=False)
    assert "not found" in hidden.output


def test_a_file_the_api_would_refuse_is_refused_by_name(weft: Any, tmp_path: Path) -> None:
    org = json.loads(weft("org", "create", "--name", "Files", "--json").stdout)["org_id"]
    deep: Any = "x"
    for _ in range(500):
        deep = {"v": deep}
    file = public_file("Deep", "{{ 1 }}")
    file["nodes"][1]["data"]["extra"] = deep
    source = tmp_path / "deep.json"
    source.write_text(json.dumps(file))
    refused = weft("workflow", "import", str(source), "--org", org, ok=False)
    assert "deep.json: the file nests deeper than 64 levels" in refused.output
    source.write_text("{not json")
    assert "is not JSON" in weft("workflow", "import", str(source), "--org", org, ok=False).output
