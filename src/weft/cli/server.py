"""Commands that run Weft: migrate, serve, api, worker, demo.

The server's modules are imported by the command that runs them, not above: start-up time of
every other `weft` command (see cli/common.py).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from weft.cli.common import (
    SERVER_FILE,
    announce_database,
    existing_database,
    in_transaction,
    load_settings,
    migrate_database,
    require_database,
    run_fast,
    safe_url,
    served_base_url,
    settle_garbage_collector,
)
from weft.clock import isoformat

if TYPE_CHECKING:
    from weft.settings import Settings

app = typer.Typer(help="Weft: private workflows you can host.", no_args_is_help=True)


@app.command()
def migrate() -> None:
    """Bring the database (WEFT_DATABASE_URL, default SQLite) to the newest schema."""
    settings = load_settings()
    migrate_database(settings)
    typer.echo(f"database is at the newest schema ({safe_url(settings)})")


@app.command()
def serve(
    demo: Annotated[
        bool, typer.Option(help="Create/print the demo org, account and token")
    ] = False,
    migrate_db: Annotated[
        bool | None,
        typer.Option("--migrate/--no-migrate", help="Migrate first (default: on SQLite)"),
    ] = None,
    processes: Annotated[
        str | None,
        typer.Option(
            "--processes",
            help="Processes sharing the port, each with API and worker: N or auto "
            "(default WEFT_PROCESSES; auto: one per core on PostgreSQL, one on SQLite)",
        ),
    ] = None,
) -> None:
    """Serve the API (WEFT_HOST:WEFT_PORT)."""
    import os

    import uvicorn

    from weft.cli.processes import SUPERVISOR_ENV, fit_to_connections, resolve_processes
    from weft.observability.logs import configure_logging
    from weft.store.dialects import dialect_for_url

    if processes is not None:
        os.environ["WEFT_PROCESSES"] = processes  # the children read their settings from it
    settings = load_settings()
    announce_database(settings)
    try:
        count, note = fit_to_connections(settings, resolve_processes(settings))
    except ValueError as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    if note:
        typer.echo(note, err=True)
    embedded = dialect_for_url(settings.resolved_database_url).embedded
    if migrate_db if migrate_db is not None else embedded:
        migrate_database(settings)
    (settings.data_dir / SERVER_FILE).write_text(json.dumps({"base_url": settings.base_url}))
    if demo:
        _print_demo(settings, settings.base_url)
    plural = f"{count} processes" if count > 1 else "1 process"
    typer.echo(
        f"Weft listening on {settings.base_url} with {plural}  (API docs: {settings.base_url}/docs)"
    )
    configure_logging(settings.log_level, as_json=settings.log_format == "json")
    # Weft writes its own access log (route templates, never hook secrets or query strings).
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "log_config": None,
        "access_log": False,
        # uvicorn would believe X-Forwarded-For from loopback peers (its default); Weft reads
        # it itself, from WEFT_TRUSTED_PROXIES only (weft.api.client_address).
        "proxy_headers": False,
    }
    if count == 1:
        from weft.app import create_app  # only here: the supervisor of N processes needs no app

        served = create_app(settings)
        settle_garbage_collector()
        uvicorn.run(served, **options)
        return
    os.environ[SUPERVISOR_ENV] = str(os.getpid())
    from weft.cli.supervisor import Supervisor

    config = uvicorn.Config("weft.cli.processes:child_app", factory=True, workers=count, **options)
    supervisor = Supervisor(
        config,
        [config.bind_socket()],
        boot_timeout_s=settings.process_boot_timeout_s,
        health_timeout_s=settings.process_health_timeout_s,
    )
    supervisor.run()


@app.command()
def api(
    migrate_db: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Migrate before serving")
    ] = False,
    processes: Annotated[
        str | None,
        typer.Option("--processes", help="API processes sharing the port: N or auto"),
    ] = None,
) -> None:
    """Serve the API only (no workers); run `weft worker` processes beside it."""
    import os

    os.environ["WEFT_WORKERS"] = "0"
    serve(demo=False, migrate_db=migrate_db, processes=processes)


@app.command()
def worker(
    loops: Annotated[int, typer.Option("--loops", help="Claim loops in this process")] = 1,
    schedule: Annotated[bool, typer.Option(help="Also fire cron schedules")] = True,
) -> None:
    """Run workers alone: claim and run executions until SIGTERM/SIGINT (then finish or release)."""
    import asyncio
    import signal

    from weft.apps.catalog import prepare_database
    from weft.engine.workers.host import Engine, build_services
    from weft.observability.logs import configure_logging
    from weft.store.db import Database

    settings = require_database(announce=False)  # its banner names the database
    configure_logging(settings.log_level, as_json=settings.log_format == "json")

    async def main() -> None:
        db = Database(settings.resolved_database_url, connections=settings.db_connections)
        await prepare_database(db)
        engine = Engine(build_services(db, settings))
        await engine.start(loops, schedule=schedule)
        settle_garbage_collector()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        typer.echo(f"weft worker: {loops} loop(s) on {safe_url(settings)}")
        await stop.wait()
        typer.echo("weft worker: stopping (finishing or releasing runs in flight)")
        await engine.stop()
        await db.dispose()

    run_fast(main())


@app.command()
def demo() -> None:
    """Create the demo org on first call and print its key, a fresh session token and URLs."""
    settings = existing_database()
    _print_demo(settings, served_base_url(settings))


def _print_demo(settings: Settings, base: str) -> None:
    from weft.cli.demo import ensure_demo

    creds = in_transaction(
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
