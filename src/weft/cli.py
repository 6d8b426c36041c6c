"""Command line: serve, migrate, org, linked-account, token, demo."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from weft.app import prepare_database
from weft.clock import isoformat
from weft.errors import WeftError
from weft.observability.logs import configure_logging
from weft.settings import Settings
from weft.store.db import Database
from weft.store.migrate import upgrade_to_head
from weft.store.permissions import secure_directory
from weft.store.scope import ENVIRONMENTS, OrgScope
from weft.tenancy.orgs import get_org

app = typer.Typer(help="Weft: private workflows you can host.", no_args_is_help=True)
org_app = typer.Typer(help="Organisations and their API keys.", no_args_is_help=True)
account_app = typer.Typer(help="Linked accounts of an organisation.", no_args_is_help=True)
token_app = typer.Typer(help="Session tokens for linked accounts.", no_args_is_help=True)
secrets_app = typer.Typer(help="The key that seals connection secrets.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(account_app, name="linked-account")
app.add_typer(token_app, name="token")
app.add_typer(secrets_app, name="secrets")

T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output")]
EnvOpt = Annotated[str, typer.Option("--environment", "-e", help="test or production")]


# The one rule, shared with the server: WEFT_DATABASE_URL if set, else WEFT_DATA_DIR/weft.db
# (WEFT_DATA_DIR defaults to ./.weft, relative to the directory the command runs in).
DATABASE_RULE = (
    "The server and every weft command use WEFT_DATABASE_URL if it is set, else "
    "WEFT_DATA_DIR/weft.db (WEFT_DATA_DIR defaults to .weft in the current directory)."
)
SERVER_FILE = "server.json"


def _settings() -> Settings:
    """Settings for a command that may create the database (serve, migrate)."""
    settings = Settings()
    secure_directory(settings.data_dir)  # the database, the secret key and demo credentials
    return settings


def _existing_database() -> Settings:
    """Settings for a command that works on the server's data: its database must exist."""
    settings = _require_database()
    _migrate(settings)
    return settings


def _require_database(*, announce: bool = True) -> Settings:
    """Settings whose database exists (a missing SQLite file is refused, never created)."""
    settings = Settings()
    path = settings.sqlite_path
    if path is not None and not path.exists():
        typer.secho(
            f"error: there is no Weft database at {path}.\n{DATABASE_RULE}\n"
            "Run this where `make run` / `weft serve` runs, set WEFT_DATA_DIR (or "
            "WEFT_DATABASE_URL) to the server's, or create a new database with `weft migrate`.",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)
    if announce:
        _announce_database(settings)
    return settings


def _announce_database(settings: Settings) -> None:
    # stderr, so `--json` output stays machine-readable.
    typer.echo(f"database: {_safe_url(settings)}", err=True)


def _migrate(settings: Settings) -> None:
    upgrade_to_head(settings.resolved_database_url)


def _served_base_url(settings: Settings) -> str:
    """The base URL the server on this data directory last announced, else the settings'."""
    try:
        recorded = json.loads((settings.data_dir / SERVER_FILE).read_text())
        return str(recorded["base_url"])
    except (OSError, ValueError, KeyError, TypeError):
        return settings.base_url


def _in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        db = Database(settings.resolved_database_url)
        try:
            await prepare_database(db)
            async with db.transaction() as session:
                return await work(session)
        finally:
            await db.dispose()

    try:
        return asyncio.run(run())
    except WeftError as error:
        typer.secho(f"error: {error.message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error


def _run_fast(coroutine: Any) -> Any:
    """Run on uvloop where it is installed (as uvicorn does for the API), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def _out(as_json: bool, data: dict[str, Any], human: str) -> None:
    typer.echo(json.dumps(data, indent=2) if as_json else human)


@app.command()
def migrate() -> None:
    """Bring the database (WEFT_DATABASE_URL, default SQLite) to the newest schema."""
    settings = _settings()
    _migrate(settings)
    typer.echo(f"database is at the newest schema ({_safe_url(settings)})")


def _safe_url(settings: Settings) -> str:
    url = settings.resolved_database_url
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@app.command()
def serve(
    demo: Annotated[
        bool, typer.Option(help="Create/print the demo org, account and token")
    ] = False,
    migrate_db: Annotated[
        bool | None,
        typer.Option("--migrate/--no-migrate", help="Migrate first (default: on SQLite)"),
    ] = None,
) -> None:
    """Serve the API (WEFT_HOST:WEFT_PORT)."""
    import uvicorn

    from weft.app import create_app

    settings = _settings()
    _announce_database(settings)
    is_sqlite = settings.resolved_database_url.startswith("sqlite")
    if migrate_db if migrate_db is not None else is_sqlite:
        _migrate(settings)
    (settings.data_dir / SERVER_FILE).write_text(json.dumps({"base_url": settings.base_url}))
    if demo:
        _print_demo(settings, settings.base_url)
    typer.echo(f"Weft listening on {settings.base_url}  (API docs: {settings.base_url}/docs)")
    configure_logging(settings.log_level, as_json=settings.log_format == "json")
    # Weft writes its own access log (route templates, never hook secrets or query strings).
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,
        access_log=False,
    )


@app.command()
def api(
    migrate_db: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Migrate before serving")
    ] = False,
) -> None:
    """Serve the API only (no workers); run `weft worker` processes beside it."""
    import os

    os.environ["WEFT_WORKERS"] = "0"
    serve(demo=False, migrate_db=migrate_db)


@app.command()
def worker(
    loops: Annotated[int, typer.Option("--loops", help="Claim loops in this process")] = 1,
    schedule: Annotated[bool, typer.Option(help="Also fire cron schedules")] = True,
) -> None:
    """Run workers alone: claim and run executions until SIGTERM/SIGINT (then finish or release)."""
    import signal

    from weft.engine.host import Engine, build_services

    settings = _require_database(announce=False)  # its banner names the database
    configure_logging(settings.log_level, as_json=settings.log_format == "json")

    async def main() -> None:
        db = Database(settings.resolved_database_url)
        await prepare_database(db)
        engine = Engine(build_services(db, settings))
        await engine.start(loops, schedule=schedule)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        typer.echo(f"weft worker: {loops} loop(s) on {_safe_url(settings)}")
        await stop.wait()
        typer.echo("weft worker: stopping (finishing or releasing runs in flight)")
        await engine.stop()
        await db.dispose()

    _run_fast(main())


@app.command()
def demo() -> None:
    """Create the demo org on first call and print its key, a fresh session token and URLs."""
    settings = _existing_database()
    _print_demo(settings, _served_base_url(settings))


def _print_demo(settings: Settings, base: str) -> None:
    from weft.tenancy.demo import ensure_demo

    creds = _in_transaction(
        settings,
        lambda s: ensure_demo(
            settings.data_dir, token_ttl_s=settings.session_token_ttl_s, session=s
        ),
    )
    editor_url = f"{base}/workflows/{creds.workflow_id}?token={creds.session.token}"
    typer.echo(
        "\n".join(
            [
                "",
                "Weft demo organisation",
                f"  base URL        {base}",
                f"  API base        {base}/api/v2/public",
                f"  API docs        {base}/docs",
                f"  org id          {creds.org_id}",
                f"  test API key    {creds.api_keys['test']}",
                f"  linked account  {creds.linked_account_id}",
                f"  session token   {creds.session.token}",
                f"                  (expires {isoformat(creds.session.expires_at)})",
                f"  demo workflow   {creds.workflow_id}",
                f"  editor          {editor_url}",
                "",
                "Try it:",
                f"  curl -s {base}/api/v2/public/workflow -H 'Authorization: Bearer "
                f"{creds.session.token}'",
                "",
            ]
        )
    )


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Option("--name", help="Organisation name")], as_json: JsonOpt = False
) -> None:
    """Create an organisation with a test and a production API key (shown once)."""
    from weft.tenancy.orgs import create_org

    settings = _existing_database()
    created = _in_transaction(settings, lambda s: create_org(name, session=s))
    data = {"org_id": created.org.id, "name": created.org.name, "api_keys": created.api_keys}
    human = (
        f"created org {created.org.id} ({created.org.name})\n"
        f"  test API key:       {created.api_keys['test']}\n"
        f"  production API key: {created.api_keys['production']}\n"
        "Keys are stored hashed: copy them now, they cannot be shown again."
    )
    _out(as_json, data, human)


@org_app.command("rotate-key")
def org_rotate_key(
    org: Annotated[str, typer.Option("--org", help="Org id")],
    environment: EnvOpt = "test",
    as_json: JsonOpt = False,
) -> None:
    """Revoke an org's API key for one environment (and its session tokens); print a new one."""
    from weft.tenancy.orgs import rotate_api_key

    settings = _existing_database()
    rotated = _in_transaction(settings, lambda s: rotate_api_key(org, environment, session=s))
    data = {
        "org_id": org,
        "environment": environment,
        "api_key": rotated.api_key,
        "revoked_session_tokens": rotated.revoked_session_tokens,
    }
    human = (
        f"new key: {rotated.api_key}\n"
        f"session tokens minted under the old key, now revoked: {rotated.revoked_session_tokens}"
    )
    _out(as_json, data, human)


@org_app.command("update")
def org_update(
    org: Annotated[str, typer.Option("--org", help="Org id")],
    allowed_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-origin",
            help="Origin (scheme://host[:port]) allowed to embed the editor; repeat for more. "
            "Replaces the list; give --allowed-origin '' to clear it.",
        ),
    ] = None,
    outbound_allow: Annotated[
        list[str] | None,
        typer.Option(
            "--outbound-allow",
            help="Private destination (host, host:port, CIDR[:port]) the org's workflows may "
            "reach, within WEFT_OUTBOUND_ORG_ALLOW; repeat for more. Replaces the list; "
            "give --outbound-allow '' to clear it.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Update an organisation's settings (embedding origins, outbound policy)."""
    from weft.net import OutboundPolicy
    from weft.tenancy.org_outbound import outbound_allow_of, set_outbound_allow
    from weft.tenancy.orgs import allowed_origins_of, set_allowed_origins

    settings = _existing_database()
    ceiling = OutboundPolicy.parse(settings.outbound_org_allow)

    async def work(session: AsyncSession) -> dict[str, Any]:
        await get_org(org, session=session)
        if allowed_origin is not None:
            wanted = [origin for origin in allowed_origin if origin.strip()]
            await set_allowed_origins(org, wanted, session=session)
        if outbound_allow is not None:
            entries = [entry for entry in outbound_allow if entry.strip()]
            await set_outbound_allow(org, entries, ceiling, session=session)
        return {
            "org_id": org,
            "allowed_origins": await allowed_origins_of(org, session=session),
            "outbound_allow": await outbound_allow_of(org, session=session),
        }

    shown = _in_transaction(settings, work)
    human = (
        f"org {org} allowed origins: " + (", ".join(shown["allowed_origins"]) or "(none)") + "\n"
        "outbound allow: " + (", ".join(shown["outbound_allow"]) or "(none)")
    )
    _out(as_json, shown, human)


def _org_scope(org: str, environment: str) -> OrgScope:
    if environment not in ENVIRONMENTS:
        typer.secho(f"error: environment must be one of {ENVIRONMENTS}", fg="red", err=True)
        raise typer.Exit(2)
    return OrgScope(org_id=org, environment=environment)


@account_app.command("create")
def linked_account_create(
    org: Annotated[str, typer.Option("--org", help="Org id")],
    account_id: Annotated[str, typer.Option("--id", help="The org's id for the account")],
    name: Annotated[str | None, typer.Option("--name")] = None,
    environment: EnvOpt = "test",
    as_json: JsonOpt = False,
) -> None:
    """Create (or update) a linked account."""
    from weft.tenancy.accounts import upsert_linked_account

    scope = _org_scope(org, environment)
    settings = _existing_database()

    async def work(session: AsyncSession) -> Any:
        await get_org(org, session=session)
        return await upsert_linked_account(scope, account_id, name=name, session=session)

    account = _in_transaction(settings, work)
    data = {
        "_id": account.id,
        "linked_account_id": account.account_id,
        "org_id": account.org_id,
        "environment": account.environment,
        "name": account.name,
    }
    _out(as_json, data, f"linked account {account.account_id} ready in {account.environment}")


@token_app.command("create")
def token_create(
    org: Annotated[str, typer.Option("--org", help="Org id")],
    linked_account: Annotated[str, typer.Option("--linked-account", help="Linked account id")],
    environment: EnvOpt = "test",
    expires_in: Annotated[int | None, typer.Option(help="Seconds (default 24 h)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue a session token for a linked account (created on first use)."""
    from weft.tenancy.tokens import issue_session_token

    scope = _org_scope(org, environment)
    settings = _existing_database()

    async def work(session: AsyncSession) -> Any:
        await get_org(org, session=session)
        return await issue_session_token(
            scope,
            linked_account,
            expires_in=expires_in or settings.session_token_ttl_s,
            max_expires_in=settings.session_token_max_ttl_s,
            session=session,
        )

    issued = _in_transaction(settings, work)
    data = {
        "token": issued.token,
        "expires_at": isoformat(issued.expires_at),
        "linked_account_id": linked_account,
        "environment": environment,
    }
    _out(as_json, data, f"{issued.token}\n(expires {isoformat(issued.expires_at)})")


@secrets_app.command("rotate")
def secrets_rotate(
    new_key: Annotated[
        str | None,
        typer.Option("--new-key", help="The new key (default: a fresh random one)"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-encrypt every stored secret under a new key (then restart every Weft process)."""
    from weft.apps.key_rotation import (
        commit_key_file,
        key_file,
        new_key_material,
        reseal_everything,
        stage_key_file,
    )

    settings = _settings()
    material = new_key or new_key_material()
    new_settings = settings.model_copy(update={"secret_key": material})
    path = key_file(settings)
    staged = stage_key_file(path, material) if path else None
    count = _in_transaction(
        settings, lambda session: reseal_everything(settings, new_settings, session=session)
    )
    if path and staged:
        commit_key_file(staged, path)
        where = f"the new key is in {path}"
    else:
        where = "set WEFT_SECRET_KEY to the new key below in every process's environment"
    data = {
        "connections": count.connections,
        "org_secrets": count.org_secrets,
        "webhook_secrets": count.webhook_secrets,
        "key_file": str(path) if path else None,
    }
    if not path:
        data["new_key"] = material
    human = (
        f"re-encrypted {count.connections} connection(s), {count.org_secrets} org secret(s), "
        f"{count.webhook_secrets} webhook secret(s); {where}; restart every Weft process"
        + ("" if path else f"\nWEFT_SECRET_KEY={material}")
    )
    _out(as_json, data, human)
