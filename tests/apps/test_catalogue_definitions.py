"""The shipped catalogue: generated definitions equal what the generator makes of catalog/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from weft.apps.catalog import shipped_definitions
from weft.apps.openapi.manifest import (
    build_app,
    build_catalog,
    catalogue_apps,
    catalogue_table,
    render,
    with_table,
)

# Checking or regenerating all 58 apps takes tens of seconds: not the unit tier's milliseconds.
pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "catalog"
DEFINITIONS = ROOT / "src" / "weft" / "apps" / "definitions"


@pytest.mark.parametrize("folder", catalogue_apps(CATALOG), ids=lambda path: path.name)
def test_committed_definition_matches_the_generator(folder: Path) -> None:
    derived = build_app(folder)
    committed = DEFINITIONS / f"{derived.definition.slug}.json"
    assert committed.is_file(), f"run `make catalog`: {committed.name} is missing"
    assert committed.read_text() == render(derived.definition), (
        f"{committed.name} drifted from catalog/{folder.name}: run `make catalog` and commit"
    )


def test_every_generated_definition_has_its_catalogue_folder() -> None:
    generated = {path.stem for path in DEFINITIONS.glob("*.json")}
    folders = {
        yaml.safe_load((f / "app.yaml").read_text())["slug"] for f in catalogue_apps(CATALOG)
    }
    assert generated <= folders, f"no catalog/ folder for {sorted(generated - folders)}"


MANIFEST = {
    "slug": "tiny",
    "name": "Tiny CRM",
    "description": "Contacts.",
    "tags": ["crm"],
    "source": {"repository": "acme/tiny", "commit": "a" * 40, "licence": "Apache-2.0"},
    "base_url": "https://tiny.example.test",
    "operations": [
        {"operation": "listContacts", "name": "list_contacts", "label": "List contacts"},
        {"operation": "POST /contacts", "name": "add_contact", "description": "Adds one."},
    ],
}
DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "Tiny", "version": "9", "license": {"name": "Apache 2.0"}},
    "servers": [{"url": "/relative"}],
    "paths": {
        "/contacts": {
            "get": {"operationId": "listContacts", "responses": {"200": {"description": "ok"}}},
            "post": {"responses": {"200": {"description": "ok"}}},
            "delete": {"operationId": "dropAll", "responses": {"200": {"description": "ok"}}},
        }
    },
}


def test_generator_applies_the_manifest_and_writes_stable_json(tmp_path: Path) -> None:
    folder = tmp_path / "catalog" / "tiny"
    folder.mkdir(parents=True)
    (folder / "app.yaml").write_text(yaml.safe_dump(MANIFEST))
    (folder / "openapi.json").write_text(json.dumps(DOCUMENT))
    out = tmp_path / "out"
    out.mkdir()
    build_catalog(tmp_path / "catalog", out)
    first = (out / "tiny.json").read_text()
    build_catalog(tmp_path / "catalog", out)
    assert (out / "tiny.json").read_text() == first  # deterministic
    data = json.loads(first)
    assert list(data) == sorted(data)
    assert (data["name"], data["base_url"], data["tags"]) == (
        "Tiny CRM",
        "https://tiny.example.test",
        ["crm"],
    )
    assert [(a["name"], a["label"]) for a in data["actions"]] == [
        ("list_contacts", "List contacts"),
        ("add_contact", "Add contact"),
    ]
    assert data["actions"][1]["description"] == "Adds one."
    assert data["source"]["commit"] == "a" * 40 and data["source"]["openapi"] == "3.0.3"
    assert data["source"]["licence"] == "Apache-2.0" and data["source"]["version"] == "9"


def test_shipped_definitions_load_both_yaml_and_generated_json() -> None:
    slugs = set(shipped_definitions())
    assert {"stripe", "github"} <= slugs
    assert {path.stem for path in DEFINITIONS.glob("*.json")} <= slugs


def test_the_docs_table_lists_every_generated_app_with_its_source_and_licence() -> None:
    generated = [definition for definition in shipped_definitions().values() if definition.source]
    docs = (ROOT / "docs" / "apps.md").read_text()
    assert with_table(docs, catalogue_table(generated)) == docs, (
        "docs/apps.md's catalogue table is stale: run `make catalog` and commit"
    )
    assert all(definition.source.licence for definition in generated)
