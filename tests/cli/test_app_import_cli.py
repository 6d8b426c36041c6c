"""`weft app import` as a user runs it, on SQLite and PostgreSQL: import, then re-import."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from cli_forks import run_weft

pytestmark = pytest.mark.integration

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "Tasks", "version": "3"},
    "servers": [{"url": "https://tasks.example.test/api"}],
    "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
    "security": [{"token": []}],
    "paths": {
        "/tasks": {
            "get": {
                "operationId": "listTasks",
                "tags": ["read"],
                "responses": {"200": {"description": "ok"}},
            },
            "post": {
                "operationId": "createTask",
                "tags": ["write"],
                "responses": {"200": {"description": "ok"}},
            },
        }
    },
}


def weft(db_url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WEFT_DATABASE_URL": db_url, "WEFT_DATA_DIR": str(data_dir)}
    return run_weft(list(args), env=env)


def test_app_import_saves_an_org_app_and_reports_a_reimport(db_url: str, tmp_path: Path) -> None:
    made = weft(db_url, tmp_path, "org", "create", "--name", "Importer", "--json")
    assert made.returncode == 0, made.stderr
    org = json.loads(made.stdout)["org_id"]
    source = tmp_path / "tasks.yaml"
    source.write_text(yaml.safe_dump(DOCUMENT))

    first = weft(db_url, tmp_path, "app", "import", str(source), "--org", org, "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["actions"] == ["list_tasks", "create_task"]

    again = weft(
        db_url, tmp_path, "app", "import", str(source), "--org", org, "--slug", "tasks",
        "--tags", "read", "--json",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    outcome = json.loads(again.stdout)
    assert (outcome["actions"], outcome["removed"]) == (["list_tasks"], ["create_task"])

    bad = tmp_path / "bad.json"
    bad.write_text('{"openapi": "3.1.0"}')
    refused = weft(db_url, tmp_path, "app", "import", str(bad), "--org", org)
    assert refused.returncode == 1 and "not valid OpenAPI 3.1.0" in refused.stderr
