"""`weft app`: import an app from an OpenAPI document; regenerate the shipped catalogue."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from weft.cli.common import JsonOpt, existing_database, in_transaction, output

app_app = typer.Typer(help="Apps: import from OpenAPI, build the catalogue.", no_args_is_help=True)

# The package's definitions folder (a source checkout: src/weft/apps/definitions).
DEFINITIONS = Path(__file__).resolve().parent.parent / "apps" / "definitions"
CATALOG = Path("catalog")


def _split(text: str | None) -> list[str] | None:
    items = [item.strip() for item in (text or "").split(",") if item.strip()]
    return items or None


def _read(source: str) -> tuple[Any, str | None]:
    """(document, its URL or None): a file's bytes, or a URL's body through the guard."""
    import asyncio  # here, not above: start-up time of every command (see cli/common.py)

    from weft.apps.imports import fetch_document
    from weft.apps.openapi import MAX_DOCUMENT_BYTES
    from weft.net import OutboundPolicy
    from weft.settings import Settings

    if source.startswith(("http://", "https://")):
        policy = OutboundPolicy.parse(Settings().outbound_allow)
        return asyncio.run(fetch_document(source, policy)), source
    path = Path(source)
    if not path.is_file():
        raise typer.BadParameter(f"{source} is neither a file nor an http(s) URL")
    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise typer.BadParameter(f"{source} is larger than {MAX_DOCUMENT_BYTES} bytes")
    return path.read_bytes(), None


@app_app.command("import")
def app_import(
    source: Annotated[str, typer.Argument(help="An OpenAPI 3.0/3.1 file (JSON or YAML) or URL")],
    operations: Annotated[
        str | None, typer.Option(help="Only these operations: operationIds or 'METHOD /path', ','")
    ] = None,
    tags: Annotated[str | None, typer.Option(help="Only operations with these tags, ','")] = None,
    slug: Annotated[
        str | None, typer.Option(help="The app's slug (default: from the title)")
    ] = None,
    org: Annotated[str | None, typer.Option("--org", help="Save as this org's app")] = None,
    catalog: Annotated[
        bool, typer.Option("--catalog", help="Write src/weft/apps/definitions/<slug>.json instead")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import an app from an OpenAPI document into an org, or into the shipped catalogue."""
    from weft.apps.imports import derive_checked, save_import
    from weft.apps.openapi import Pick
    from weft.apps.openapi.manifest import render
    from weft.errors import WeftError

    if (org is None) == (not catalog):
        raise typer.BadParameter("give --org ORG_ID, or --catalog")
    picks = [Pick(operation=name) for name in _split(operations) or []] or None
    try:
        raw, url = _read(source)
        derived = derive_checked(raw, slug=slug, picks=picks, tags=_split(tags), document_url=url)
    except WeftError as error:
        typer.secho(f"error: {error.message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error
    for warning in derived.warnings:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    if catalog:
        target = DEFINITIONS / f"{derived.definition.slug}.json"
        target.write_text(render(derived.definition))
        names = [action.name for action in derived.definition.actions]
        data = {"slug": derived.definition.slug, "actions": names, "file": str(target)}
        output(as_json, data, f"wrote {target} ({len(names)} actions)")
        return
    assert org is not None
    settings = existing_database()
    from weft.tenancy.audit import record_cli_change

    async def work(session: Any) -> Any:
        outcome = await save_import(org, derived, session=session)
        record_cli_change(org, "import app", target={"slug": outcome.slug}, session=session)
        return outcome

    outcome = in_transaction(settings, work)
    data = outcome.as_dict()
    human = (
        f"imported {outcome.slug}: {len(outcome.actions)} actions "
        f"(added {len(outcome.added)}, changed {len(outcome.changed)}, "
        f"removed {len(outcome.removed)}, deprecated {len(outcome.deprecated)})"
    )
    for workflow in outcome.affected_workflows:
        human += (
            f"\n  live workflow {workflow['workflow_id']} uses {', '.join(workflow['actions'])}"
        )
    output(as_json, data, human)


@app_app.command("build-catalog")
def app_build_catalog(
    catalog: Annotated[Path, typer.Option(help="The catalogue folder")] = CATALOG,
    out: Annotated[Path, typer.Option(help="Where definitions go")] = DEFINITIONS,
    docs: Annotated[Path, typer.Option(help="The page whose catalogue table is rewritten")] = (
        Path("docs/apps.md")
    ),
) -> None:
    """Regenerate <out>/<slug>.json from every catalog/<slug>/ (app.yaml + openapi document),
    and the table of generated apps in docs/apps.md."""
    from weft.apps.model import AppDefinition
    from weft.apps.openapi.manifest import build_catalog, catalogue_table, with_table

    built = build_catalog(catalog, out)
    if docs.is_file():
        made = [
            AppDefinition.model_validate_json((out / f"{slug}.json").read_text()) for slug in built
        ]
        docs.write_text(with_table(docs.read_text(), catalogue_table(made)))
    for slug, warnings in built.items():
        typer.echo(f"{slug}: {len(warnings)} warnings" if warnings else slug)
        for warning in warnings:
            typer.echo(f"  {warning}", err=True)
    typer.echo(f"{len(built)} definitions written to {out}")
