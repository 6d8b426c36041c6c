"""The shipped catalogue: `catalog/<slug>/app.yaml` + its OpenAPI document -> a definition.

The manifest picks the operations (with curated names, labels, descriptions), may override
the base URL, and records where the document came from. Keys of the manifest (and of an
operation) that are fields of the definition (an action) are copied onto it as they are, so a
curated `pagination` or `icon` needs no code here. Output is deterministic: sorted keys, so
the committed file changes only when the manifest, the document or the importer does.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from weft.apps.model import SLUG, AppDefinition, AppSource
from weft.apps.openapi.derive import Derived, Pick, import_document

MANIFEST = "app.yaml"
DOCUMENTS = ("openapi.json", "openapi.yaml", "openapi.yml")


class Manifest(BaseModel):
    """One shipped app's curated edits (see docs/apps.md, "The shipped catalogue")."""

    model_config = ConfigDict(extra="allow")

    slug: str = Field(pattern=SLUG)
    name: str | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    source: AppSource | None = None
    base_url: str | None = None
    operations: list[Pick] | None = None


def document_path(folder: Path) -> Path:
    """The folder's OpenAPI document (json or yaml)."""
    for name in DOCUMENTS:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{folder} has no {' or '.join(DOCUMENTS)}")


def build_app(folder: Path) -> Derived:
    """The definition `folder` (one catalogue app) generates."""
    manifest = Manifest.model_validate(yaml.safe_load((folder / MANIFEST).read_text()))
    derived = import_document(
        document_path(folder).read_bytes(),
        slug=manifest.slug,
        picks=manifest.operations,
        base_url=manifest.base_url,
        source=manifest.source,
    )
    curated = {
        "name": manifest.name,
        "description": manifest.description,
        "tags": manifest.tags or None,
    }
    extra = {
        k: v for k, v in (manifest.model_extra or {}).items() if k in AppDefinition.model_fields
    }
    data = derived.definition.model_dump(mode="json")
    data |= {k: v for k, v in curated.items() if v is not None} | extra
    derived.definition = AppDefinition.model_validate(data)
    return derived


def render(definition: AppDefinition) -> str:
    """The committed JSON: defaults left out, keys sorted, one trailing newline."""
    data = definition.model_dump(mode="json", exclude_defaults=True)
    # Unions' tags stay, default or not: without them the file would not load back.
    if "auth" in data:
        data["auth"]["type"] = definition.auth.type
    if isinstance(data.get("pagination"), dict) and definition.pagination is not None:
        data["pagination"]["type"] = definition.pagination.type
    for dumped, action in zip(data.get("actions", []), definition.actions, strict=True):
        if isinstance(dumped.get("pagination"), dict) and action.pagination:
            dumped["pagination"]["type"] = action.pagination.type
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def catalogue_apps(catalog: Path) -> list[Path]:
    """Every `catalog/<slug>/` folder that holds a manifest, sorted."""
    if not catalog.is_dir():
        return []
    return sorted(path.parent for path in catalog.glob(f"*/{MANIFEST}"))


def build_catalog(catalog: Path, out: Path) -> dict[str, list[str]]:
    """Write `out/<slug>.json` for every catalogue app; each slug's warnings."""
    warnings: dict[str, list[str]] = {}
    for folder in catalogue_apps(catalog):
        derived = build_app(folder)
        slug = derived.definition.slug
        (out / f"{slug}.json").write_text(render(derived.definition))
        warnings[slug] = derived.warnings
    return warnings


TABLE_START = "<!-- catalogue table: weft app build-catalog writes it -->"
TABLE_END = "<!-- end of catalogue table -->"


def catalogue_table(definitions: list[AppDefinition]) -> str:
    """The docs' table of generated apps: where each came from, its version and licence."""
    lines = [
        "| app | slug | tags | actions | connection | source document | version | licence |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for definition in sorted(definitions, key=lambda d: d.slug):
        source = definition.source or AppSource()
        # The docs link inside the repository: the manifest records the document's URL.
        where = f"[{source.repository}: {source.path}](../catalog/{definition.slug}/app.yaml)"
        lines.append(
            f"| {definition.name} | `{definition.slug}` | {', '.join(definition.tags)} | "
            f"{len(definition.actions)} | {definition.auth_type} | {where} | "
            f"{source.version or '-'} | {source.licence or '-'} |"
        )
    return "\n".join(lines)


def with_table(markdown: str, table: str) -> str:
    """`markdown` with the text between the table markers replaced by `table`."""
    start = markdown.index(TABLE_START) + len(TABLE_START)
    end = markdown.index(TABLE_END)
    return markdown[:start] + "\n" + table + "\n" + markdown[end:]
