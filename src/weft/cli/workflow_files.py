"""`weft workflow export/import` and `weft org push/pull`: workflows as files.

Both work on the database the server uses, like every `weft` command; docs/workflow-files.md
shows a session. A directory holds one `<key>.json` per public workflow of one environment.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from weft.cli.admin import org_app
from weft.cli.common import EnvOpt, JsonOpt, existing_database, in_transaction, output

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from weft.store.scope import PublicScope, Scope

workflow_app = typer.Typer(help="Workflows as files: export and import.", no_args_is_help=True)

OrgOpt = Annotated[str, typer.Option("--org", help="Org id")]
AccountOpt = Annotated[
    str | None,
    typer.Option(
        "--linked-account", help="A linked account's workflows (default: the org's public ones)"
    ),
]
DirArg = Annotated[Path, typer.Argument(help="The directory of <key>.json files")]


async def _scope(
    org: str, environment: str, account_id: str | None, *, session: AsyncSession
) -> Scope | PublicScope:
    from weft.store.scope import OrgScope, PublicScope, account_scope
    from weft.tenancy.accounts import get_linked_account
    from weft.tenancy.orgs import get_org

    await get_org(org, session=session)
    if account_id is None:
        return PublicScope(org, environment)
    account = await get_linked_account(OrgScope(org, environment), account_id, session=session)
    return account_scope(account)


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(1)


def _load(path: Path) -> Any:
    """A file's JSON, or a clear error naming the file; held to the rules the API holds every
    request body to (nesting depth, NUL, lone surrogates: api/inbound.py)."""
    from weft.api.inbound import body_problem

    try:
        raw = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as error:
        raise _fail(f"cannot read {path}: {error.strerror}") from error
    if problem := body_problem(raw):
        raise _fail(f"{path}: {problem.replace('Request body', 'the file')}")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise _fail(f"{path} is not JSON: {error}") from error


@workflow_app.command("export")
def workflow_export(
    workflow_id: Annotated[str, typer.Argument(help="The workflow's id")],
    org: OrgOpt,
    environment: EnvOpt = "test",
    linked_account: AccountOpt = None,
    out: Annotated[
        Path | None, typer.Option("-o", "--output", help="File (default: stdout)")
    ] = None,
) -> None:
    """Write a workflow as a file (its live version; the draft before the first publish)."""
    from weft.workflows.files import render
    from weft.workflows.transfer import export_workflow

    settings = existing_database()

    async def work(session: AsyncSession) -> dict[str, Any]:
        scope = await _scope(org, environment, linked_account, session=session)
        return await export_workflow(scope, workflow_id, session=session)

    text = render(in_transaction(settings, work))
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)
        typer.echo(f"wrote {out}", err=True)


@workflow_app.command("import")
def workflow_import(
    file: Annotated[Path, typer.Argument(help="A workflow file (- for stdin)")],
    org: OrgOpt,
    environment: EnvOpt = "test",
    linked_account: AccountOpt = None,
    publish: Annotated[bool, typer.Option(help="Publish version 1 at once")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a new workflow from a file: a draft, or live with --publish."""
    from weft.apps.catalog import resolve_app
    from weft.apps.checks import catalog_problems
    from weft.tenancy.audit import record_cli_change
    from weft.workflows.transfer import import_workflow
    from weft.workflows.versions import draft_problems

    raw = _load(file)
    settings = existing_database()

    async def work(session: AsyncSession) -> dict[str, Any]:
        scope = await _scope(org, environment, linked_account, session=session)
        workflow, draft = await import_workflow(
            scope,
            raw,
            publish=publish,
            resolve_app=resolve_app,
            catalog_problems=catalog_problems,
            session=session,
        )
        problems = []
        if draft is not None:
            problems = await draft_problems(
                scope, workflow, draft, catalog_problems=catalog_problems, session=session
            )
        record_cli_change(
            org,
            "import workflow",
            target={"workflow_id": workflow.id, "name": workflow.name},
            session=session,
            environments=[environment],
        )
        return {
            "workflow_id": workflow.id,
            "name": workflow.name,
            "published": workflow.published,
            "problems": problems,
        }

    shown = in_transaction(settings, work)
    state = "published" if shown["published"] else "a draft"
    human = f"imported workflow {shown['workflow_id']} ({shown['name']}) as {state}"
    for problem in shown["problems"]:
        human += f"\n  to do before publishing: {problem['message']}"
    output(as_json, shown, human)


@org_app.command("pull")
def org_pull(
    directory: DirArg, org: OrgOpt, environment: EnvOpt = "test", as_json: JsonOpt = False
) -> None:
    """Write the org's public workflows into DIR, one <key>.json each (same content: untouched)."""
    from weft.store.scope import OrgScope
    from weft.workflows.files import content, render
    from weft.workflows.transfer import public_workflows

    settings = existing_database()

    async def work(session: AsyncSession) -> dict[str, dict[str, Any]]:
        await _scope(org, environment, None, session=session)
        return await public_workflows(OrgScope(org, environment), session=session)

    documents = in_transaction(settings, work)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for key, document in documents.items():
        path = directory / f"{key}.json"
        if not (path.is_file() and _says(path, content(document))):
            path.write_text(render(document))
            written.append(key)
    stale = sorted(p.stem for p in directory.glob("*.json") if p.stem not in documents)
    data = {"workflows": len(documents), "changed": len(written), "written": written}
    data["not_in_org"] = stale
    human = f"pulled {len(documents)} workflow(s) into {directory}: {len(written)} changed"
    human += "".join(f"\n  wrote {key}.json" for key in written)
    human += "".join(f"\n  not in the org (left as is): {key}.json" for key in stale)
    output(as_json, data, human)


def _says(path: Path, wanted: dict[str, Any]) -> bool:
    """Whether the file at `path` holds this content in the stable format already (written by
    another Weft version, maybe: that alone is no change)."""
    from weft.workflows.files import content, render

    try:
        text = path.read_text()
        found = json.loads(text)
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(found, dict) and content(found) == wanted and text == render(found)


@org_app.command("push")
def org_push(
    directory: DirArg, org: OrgOpt, environment: EnvOpt = "test", as_json: JsonOpt = False
) -> None:
    """Make the org's public workflows match DIR's files (any problem: nothing changes)."""
    from weft.apps.catalog import resolve_app
    from weft.apps.checks import catalog_problems
    from weft.store.scope import OrgScope
    from weft.tenancy.audit import record_cli_change
    from weft.workflows.transfer import PushReport, push_public

    if not directory.is_dir():
        raise _fail(f"{directory} is not a directory")
    documents = {path.stem: _load(path) for path in sorted(directory.glob("*.json"))}
    settings = existing_database()

    async def work(session: AsyncSession) -> PushReport:
        await _scope(org, environment, None, session=session)
        report = await push_public(
            OrgScope(org, environment),
            documents,
            resolve_app=resolve_app,
            catalog_problems=catalog_problems,
            session=session,
        )
        if report.changed:
            record_cli_change(
                org,
                "push workflows",
                target={"created": report.created, "updated": report.updated},
                session=session,
                environments=[environment],
            )
        return report

    report = in_transaction(settings, work)
    data = {
        "files": len(documents),
        "changed": report.changed,
        "created": report.created,
        "updated": report.updated,
        "changes": report.changes,
        "unchanged": report.unchanged,
        "not_in_directory": report.not_in_files,
    }
    human = f"pushed {len(documents)} file(s): {report.changed} changed"
    human += "".join(f"\n  created {key}" for key in report.created)
    human += "".join(
        f"\n  updated {key}: {', '.join(report.changes[key])} (published a new version)"
        for key in report.updated
    )
    human += "".join(f"\n  not in {directory} (left as is): {key}" for key in report.not_in_files)
    output(as_json, data, human)
