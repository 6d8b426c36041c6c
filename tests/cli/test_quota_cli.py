"""`weft org quotas`: an org's and a linked account's limits set and shown from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.test_cli import weft

pytestmark = pytest.mark.integration


def test_org_quotas_sets_shows_and_clears_limits(tmp_path: Path) -> None:
    assert weft(tmp_path, "migrate").returncode == 0
    org = json.loads(weft(tmp_path, "org", "create", "--name", "Billing", "--json").stdout)
    org_id = org["org_id"]
    base = ["org", "quotas", "--org", org_id, "--json"]
    set_ = weft(tmp_path, *base, "--runs-per-month", "1000", "--concurrent-runs", "5")
    assert set_.returncode == 0, set_.stderr
    shown = json.loads(set_.stdout)
    assert (shown["runs_per_month"], shown["concurrent_runs"], shown["steps_per_run"]) == (
        1000,
        5,
        None,
    )
    cleared = json.loads(weft(tmp_path, *base, "--runs-per-month", "none").stdout)
    assert (cleared["runs_per_month"], cleared["concurrent_runs"]) == (None, 5)
    made = weft(tmp_path, "linked-account", "create", "--org", org_id, "--id", "c1")
    assert made.returncode == 0, made.stderr
    account = weft(tmp_path, *base, "--linked-account", "c1", "--steps-per-run", "20")
    assert json.loads(account.stdout)["steps_per_run"] == 20
    human = weft(tmp_path, "org", "quotas", "--org", org_id, "--linked-account", "c1")
    assert "steps_per_run: 20" in human.stdout and "runs_per_month: none" in human.stdout
    bad = weft(tmp_path, *base, "--steps-per-run", "many")
    assert bad.returncode == 2 and "whole number" in bad.stderr
    unknown = weft(tmp_path, *base, "--linked-account", "nobody", "--steps-per-run", "1")
    assert unknown.returncode == 1 and "nobody" in unknown.stderr
