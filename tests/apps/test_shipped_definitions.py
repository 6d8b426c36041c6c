"""Every shipped definition is valid in full, so loading them at run time can skip the costly
schema checks (apps/model.py `CHECKED`), and each is found under its own slug."""

from __future__ import annotations

import json
from importlib import resources

import pytest
import yaml

from weft.apps.catalog import shipped_definition, shipped_slugs
from weft.apps.model import AppDefinition

# Checking or regenerating all 58 apps takes tens of seconds: not the unit tier's milliseconds.
pytestmark = pytest.mark.integration


def test_every_shipped_definition_passes_every_check_under_its_file_name() -> None:
    folder = resources.files("weft.apps") / "definitions"
    checked = 0
    for entry in folder.iterdir():
        if not entry.name.endswith((".json", ".yaml")):
            continue
        text = entry.read_text(encoding="utf-8")
        raw = json.loads(text) if entry.name.endswith(".json") else yaml.safe_load(text)
        definition = AppDefinition.model_validate(raw)  # metaschema checks included
        assert entry.name.rsplit(".", 1)[0] == definition.slug
        assert shipped_definition(definition.slug) == definition
        checked += 1
    assert checked == len(shipped_slugs()) >= 50


def test_the_catalogue_offers_at_least_four_hundred_actions() -> None:
    actions = sum(len(shipped_definition(slug).actions) for slug in shipped_slugs())
    assert actions >= 400


def test_an_unknown_slug_reads_nothing() -> None:
    assert shipped_definition("no-such-app") is None
