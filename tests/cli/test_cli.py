"""The `weft` command as a user runs it: a real process on a real SQLite data directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def weft(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WEFT_DATA_DIR": str(data_dir)}
    env.pop("WEFT_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "weft", *args], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


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
    }
    shown = weft(data_dir, *args)
    assert json.loads(shown.stdout)["allowed_origins"][0] == "https://app.example.com"
    bad = weft(data_dir, *args, "--allowed-origin", "https://app.example.com/embed")
    assert bad.returncode == 1 and "not an origin" in bad.stderr


def test_demo_prints_an_editor_url_for_one_lasting_demo_workflow(data_dir: Path) -> None:
    first, second = weft(data_dir, "demo"), weft(data_dir, "demo")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr

    def editor_url(output: str) -> str:
        return next(line for line in output.splitlines() if "editor" in line).split()[-1]

    first_url, second_url = editor_url(first.stdout), editor_url(second.stdout)
    assert "/workflows/" in first_url and "?token=wst_" in first_url
    assert first_url.split("?")[0] == second_url.split("?")[0]
