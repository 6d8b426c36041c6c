"""The `weft` command as a user runs it: a real process on a real SQLite data directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli_forks import run_weft

pytestmark = pytest.mark.integration


def weft(data_dir: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WEFT_DATA_DIR": str(data_dir), **extra_env}
    env.pop("WEFT_DATABASE_URL", None)
    return run_weft(list(args), env=env, timeout=60)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli")
    migrated = weft(path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    return path


def test_org_create_json_then_token_create_json(data_dir: Path) -> None:
    made = weft(data_dir, "org", "create", "--name", "Acme", "--json")
    assert made.returncode == 0, made.stderr
    org = json.loads(made.stdout)
    assert set(org) >= {"org_id", "api_keys"}
    assert org["api_keys"]["test"].startswith("weft_test_")
    assert org["api_keys"]["production"].startswith("weft_live_")

    account = weft(
        data_dir, "linked-account", "create", "--org", org["org_id"], "--id", "c1", "--json"
    )
    assert account.returncode == 0, account.stderr
    assert json.loads(account.stdout)["linked_account_id"] == "c1"

    token = weft(
        data_dir, "token", "create", "--org", org["org_id"], "--linked-account", "c1", "--json"
    )
    assert token.returncode == 0, token.stderr
    assert json.loads(token.stdout)["token"].startswith("wst_")


def test_demo_reuses_the_org_and_prints_fresh_tokens(data_dir: Path) -> None:
    first, second = weft(data_dir, "demo"), weft(data_dir, "demo")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr

    def field(output: str, name: str) -> str:
        line = next(line for line in output.splitlines() if line.strip().startswith(name))
        return line.split()[-1]

    assert field(first.stdout, "test API key") == field(second.stdout, "test API key")
    assert field(first.stdout, "session token") != field(second.stdout, "session token")
    assert (data_dir / "demo.json").stat().st_mode & 0o777 == 0o600


def test_unknown_org_is_a_clear_error(data_dir: Path) -> None:
    result = weft(data_dir, "org", "rotate-key", "--org", "0" * 24)
    assert result.returncode == 1 and "not found" in result.stderr


def test_commands_refuse_a_data_dir_without_a_database(tmp_path: Path) -> None:
    empty = tmp_path / "elsewhere"
    for args in (
        ("org", "create", "--name", "Lost"),
        ("demo",),
        ("token", "create", "--org", "0" * 24, "--linked-account", "u"),
    ):
        result = weft(empty, *args)
        assert result.returncode == 1, (args, result.stdout)
        assert "no Weft database" in result.stderr and "weft.db" in result.stderr
        assert "WEFT_DATA_DIR" in result.stderr, "the message states the rule"
    assert not (empty / "weft.db").exists(), "nothing was created silently"


def test_commands_say_which_database_they_used(data_dir: Path) -> None:
    made = weft(data_dir, "org", "create", "--name", "Told", "--json")
    assert made.returncode == 0, made.stderr
    assert f"database: sqlite+aiosqlite:///{(data_dir / 'weft.db').resolve()}" in made.stderr
    json.loads(made.stdout)  # the announcement stays off stdout


def test_demo_prints_the_base_url_the_server_announced(data_dir: Path) -> None:
    (data_dir / "server.json").write_text(json.dumps({"base_url": "http://127.0.0.1:9123"}))
    try:
        shown = weft(data_dir, "demo")
    finally:
        (data_dir / "server.json").unlink()
    assert shown.returncode == 0, shown.stderr
    assert "base URL        http://127.0.0.1:9123" in shown.stdout
    assert "API base        http://127.0.0.1:9123/api/v2/public" in shown.stdout


def test_demo_reaches_a_wildcard_listener_on_loopback(data_dir: Path) -> None:
    env_host = {**os.environ, "WEFT_DATA_DIR": str(data_dir), "WEFT_HOST": "0.0.0.0"}
    env_host.pop("WEFT_DATABASE_URL", None)
    shown = run_weft(["demo"], env=env_host)
    assert shown.returncode == 0, shown.stderr
    assert "base URL        http://127.0.0.1:8000" in shown.stdout


def test_org_update_sets_allowed_origins(data_dir: Path) -> None:
    org = json.loads(weft(data_dir, "org", "create", "--name", "Embedder", "--json").stdout)
    args = ["org", "update", "--org", org["org_id"], "--json"]
    updated = weft(
        data_dir,
        *args,
        "--allowed-origin",
        "https://app.example.com/",
        "--allowed-origin",
        "http://localhost:3000",
    )
    assert updated.returncode == 0, updated.stderr
    assert json.loads(updated.stdout) == {
        "org_id": org["org_id"],
        "allowed_origins": ["https://app.example.com", "http://localhost:3000"],
        "outbound_allow": [],
        "pause_after_failures": 10,
    }
    shown = weft(data_dir, *args)
    assert json.loads(shown.stdout)["allowed_origins"][0] == "https://app.example.com"
    bad = weft(data_dir, *args, "--allowed-origin", "https://app.example.com/embed")
    assert bad.returncode == 1 and "not an origin" in bad.stderr


def test_org_update_sets_the_failed_runs_before_a_workflow_pauses(data_dir: Path) -> None:
    org = json.loads(weft(data_dir, "org", "create", "--name", "Strict", "--json").stdout)
    args = ["org", "update", "--org", org["org_id"], "--pause-after-failures"]
    updated = weft(data_dir, *args, "3", "--json")
    assert updated.returncode == 0, updated.stderr
    assert json.loads(updated.stdout)["pause_after_failures"] == 3
    shown = weft(data_dir, "org", "update", "--org", org["org_id"])
    assert "pause after failures: 3" in shown.stdout
    bad = weft(data_dir, *args, "-1")
    assert bad.returncode == 1 and "pause_after_failures must be 0" in bad.stderr


def test_org_update_sets_the_outbound_policy_within_the_operators_ceiling(data_dir: Path) -> None:
    org = json.loads(weft(data_dir, "org", "create", "--name", "Private", "--json").stdout)
    args = ["org", "update", "--org", org["org_id"], "--json", "--outbound-allow"]
    ceiling = {"WEFT_OUTBOUND_ORG_ALLOW": "10.0.0.0/8:443"}
    updated = weft(data_dir, *args, "10.1.0.0/16:443", **ceiling)
    assert updated.returncode == 0, updated.stderr
    assert json.loads(updated.stdout)["outbound_allow"] == ["10.1.0.0/16:443"]
    for outside in ("10.1.0.0/16", "127.0.0.1:8000", "169.254.169.254"):
        refused = weft(data_dir, *args, outside, **ceiling)
        assert refused.returncode == 1 and "WEFT_OUTBOUND_ORG_ALLOW" in refused.stderr
    assert weft(data_dir, *args, "10.1.0.0/16:443").returncode == 1  # no ceiling: nothing


def test_demo_prints_an_editor_url_for_one_lasting_demo_workflow(data_dir: Path) -> None:
    first, second = weft(data_dir, "demo"), weft(data_dir, "demo")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr

    def editor_url(output: str) -> str:
        return next(line for line in output.splitlines() if "editor" in line).split()[-1]

    first_url, second_url = editor_url(first.stdout), editor_url(second.stdout)
    assert "/workflows/" in first_url and "?token=wst_" in first_url
    assert first_url.split("?")[0] == second_url.split("?")[0]


def test_server_processes_collect_garbage_rarely_and_skip_what_start_up_built() -> None:
    probe = (
        "import gc; from weft.cli.common import GC_YOUNG_THRESHOLD, settle_garbage_collector; "
        "before = gc.get_threshold(); settle_garbage_collector(); "
        "print(before[0], gc.get_threshold()[0] == GC_YOUNG_THRESHOLD, "
        "gc.get_freeze_count() > 1000)"
    )
    answer = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert answer.stdout.split() == ["700", "True", "True"], answer.stderr
