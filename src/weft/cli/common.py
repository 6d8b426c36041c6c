"""What every command shares: the database rule, settings, one transaction, output.

Every `weft` command imports this package, `weft --help` too: what the server is made of
(SQLAlchemy, the app catalogue, aiohttp, Alembic) is imported inside the function that needs it,
so a command pays only for what it runs (start-up took ~1 s of imports otherwise).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from weft.errors import WeftError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from weft.settings import Settings

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


def load_settings() -> Settings:
    """Settings for a command that may create the database (serve, migrate)."""
    from weft.settings import Settings  # here, not above: start-up time (pydantic-settings)
    from weft.store.permissions import secure_directory  # start-up time (SQLAlchemy)

    settings = Settings()
    secure_directory(settings.data_dir)  # the database, the secret key and demo credentials
    return settings


def existing_database() -> Settings:
    """Settings for a command that works on the server's data: its database must exist."""
    settings = require_database()
    migrate_database(settings)
    return settings


def require_database(*, announce: bool = True) -> Settings:
    """Settings whose database exists (a missing SQLite file is refused, never created)."""
    from weft.settings import Settings  # here, not above: start-up time (pydantic-settings)

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
        announce_database(settings)
    return settings


def announce_database(settings: Settings) -> None:
    # stderr, so `--json` output stays machine-readable.
    typer.echo(f"database: {safe_url(settings)}", err=True)


def migrate_database(settings: Settings) -> None:
    from weft.store.migrate import upgrade_to_head  # here, not above: start-up time (Alembic)

    upgrade_to_head(settings.resolved_database_url)


def served_base_url(settings: Settings) -> str:
    """The base URL the server on this data directory last announced, else the settings'."""
    try:
        recorded = json.loads((settings.data_dir / SERVER_FILE).read_text())
        return str(recorded["base_url"])
    except (OSError, ValueError, KeyError, TypeError):
        return settings.base_url


def in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    # Here, not above: start-up time (the store and the app catalogue: SQLAlchemy, aiohttp).
    import asyncio

    from weft.apps.catalog import prepare_database
    from weft.store.db import Database

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
        for problem in error.details.get("errors") or []:  # every problem, as the API lists
            where = problem.get("path") or problem.get("node_id") or ""
            typer.echo(f"  {where}: {problem.get('code')}: {problem.get('message')}", err=True)
        raise typer.Exit(1) from error


def run_fast(coroutine: Any) -> Any:
    """Run on uvloop where it is installed (as uvicorn does for the API), else asyncio."""
    import asyncio  # here, not above: start-up time

    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def output(as_json: bool, data: dict[str, Any], human: str) -> None:
    typer.echo(json.dumps(data, indent=2) if as_json else human)


def safe_url(settings: Settings) -> str:
    url = settings.resolved_database_url
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


# Young collections after this many net new container objects, not CPython's 700: a run makes
# and frees thousands of dicts and lists, nearly all by reference count, so the default
# collected ~20 times a second under load and every hundredth pass walked the whole heap.
GC_YOUNG_THRESHOLD = 10_000


def settle_garbage_collector() -> None:
    """For a long-lived server or worker process, once its app is built: what start-up made
    (modules, tables, routes) leaves every later collection, and young ones come less often
    (the GC took ~2 % of a busy process's CPU, ~0.3 s per process in a 16 s benchmark round)."""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)
