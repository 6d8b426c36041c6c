"""`weft template`: mark a published public workflow as a template, list them, remove one
(the org-key API's `/template` routes, for an operator at the server; docs/templates.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from weft.cli.common import EnvOpt, JsonOpt, existing_database, in_transaction, output

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

template_app = typer.Typer(help="Templates end customers start from.", no_args_is_help=True)

OrgOpt = Annotated[str, typer.Option("--org", help="Org id")]


def _scope(org: str, environment: str) -> Any:
    from weft.store.scope import ENVIRONMENTS, OrgScope

    if environment not in ENVIRONMENTS:
        raise typer.BadParameter(f"environment must be one of {ENVIRONMENTS}")
    return OrgScope(org_id=org, environment=environment)


def _described(row: Any) -> dict[str, Any]:
    return {
        "key": row.key,
        "name": row.name,
        "category": row.category,
        "workflow_id": row.workflow_id,
        "version": row.version,
        "required_apps": list(row.required_apps or []),
    }


@template_app.command("mark")
def template_mark(
    org: OrgOpt,
    key: Annotated[str, typer.Option(help="Stable key: a-z 0-9 _ -")],
    workflow: Annotated[str, typer.Option(help="A public workflow of the org")],
    name: Annotated[str, typer.Option(help="What the gallery shows")],
    version: Annotated[int | None, typer.Option(help="Default: the live version")] = None,
    description: Annotated[str, typer.Option()] = "",
    category: Annotated[str, typer.Option()] = "",
    icon: Annotated[str | None, typer.Option(help="An app slug, or an emoji")] = None,
    required_app: Annotated[
        list[str] | None, typer.Option("--required-app", help="An app it needs (repeat)")
    ] = None,
    inputs: Annotated[
        Path | None, typer.Option(help="A JSON file: the inputs' JSON Schema")
    ] = None,
    environment: EnvOpt = "test",
    as_json: JsonOpt = False,
) -> None:
    """Offer a published version of a public workflow as template KEY."""
    from weft.apps.templates import TemplateSpec, mark_template
    from weft.tenancy.audit import record_cli_change

    schema = None
    if inputs is not None:
        try:
            schema = json.loads(inputs.read_text())
        except (OSError, ValueError) as error:
            raise typer.BadParameter(f"{inputs}: not a readable JSON file ({error})") from error
    values = {
        "workflow_id": workflow,
        "version": version,
        "name": name,
        "description": description,
        "category": category,
        "icon": icon,
        "required_apps": required_app or [],
        "inputs": schema,
    }
    spec = TemplateSpec(**values, sent=set(values))
    scope = _scope(org, environment)

    async def work(session: AsyncSession) -> Any:
        row = await mark_template(scope, key, spec, session=session)
        record_cli_change(
            org, "mark template", target={"key": key}, session=session, environments=[environment]
        )
        return row

    row = in_transaction(existing_database(), work)
    output(as_json, _described(row), f"template {row.key}: {row.name} (version {row.version})")


@template_app.command("list")
def template_list(org: OrgOpt, environment: EnvOpt = "test", as_json: JsonOpt = False) -> None:
    """The org's templates, by category and name."""
    from weft.apps.templates import find_templates

    scope = _scope(org, environment)

    async def work(session: AsyncSession) -> Any:
        return await find_templates(scope, query=None, category=None, session=session)

    rows = in_transaction(existing_database(), work)
    human = "\n".join(f"{r.key}\t{r.category or '-'}\t{r.name}\tv{r.version}" for r in rows)
    output(as_json, {"templates": [_described(r) for r in rows]}, human or "no templates")


@template_app.command("remove")
def template_remove(
    org: OrgOpt,
    key: Annotated[str, typer.Option(help="The template's key")],
    environment: EnvOpt = "test",
    as_json: JsonOpt = False,
) -> None:
    """Remove template KEY; workflows started from it stay."""
    from weft.apps.templates import remove_template
    from weft.tenancy.audit import record_cli_change

    scope = _scope(org, environment)

    async def work(session: AsyncSession) -> None:
        await remove_template(scope, key, session=session)
        record_cli_change(
            org,
            "remove template",
            target={"key": key},
            session=session,
            environments=[environment],
        )

    in_transaction(existing_database(), work)
    output(as_json, {"key": key, "removed": True}, f"removed template {key}")
