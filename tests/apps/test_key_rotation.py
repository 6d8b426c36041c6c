"""`weft secrets rotate` re-encrypts every sealed secret; the old key opens none of them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from cli_forks import run_weft
from weft.apps.connections import open_credentials, save_keybased_connection, secret_box
from weft.apps.org_settings import ai_settings, set_ai_settings
from weft.crypto import KEY_FILE, SecretUnreadable
from weft.settings import Settings
from weft.store.db import Database
from weft.store.scope import account_scope
from weft.store.tables import AuditEvent, Connection, LinkedAccount

pytestmark = pytest.mark.integration

KEY = "sk_rotate_me_0123456789"


def weft(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WEFT_DATA_DIR": str(data_dir)}
    env.pop("WEFT_DATABASE_URL", None)
    env.pop("WEFT_SECRET_KEY", None)
    return run_weft(list(args), env=env)


async def _seed(settings: Settings) -> None:
    db = Database(settings.resolved_database_url)
    try:
        async with db.transaction() as session:
            account = await session.scalar(select(LinkedAccount))
            scope = account_scope(account)
            await save_keybased_connection(
                scope, "stripe", {"api_key": KEY}, session=session, settings=settings
            )
            box = secret_box(settings)
            await set_ai_settings(
                scope.org_id,
                {"base_url": "http://x", "model": "m", "api_key": "ai-key"},
                session=session,
                box=box,
            )
    finally:
        await db.dispose()


async def _read(settings: Settings) -> tuple[str, str | None]:
    db = Database(settings.resolved_database_url)
    try:
        async with db.reading() as session:
            account = await session.scalar(select(LinkedAccount))
            scope = account_scope(account)
            opened = await open_credentials(scope, "stripe", session=session, settings=settings)
            assert opened is not None
            ai = await ai_settings(scope.org_id, session=session, box=secret_box(settings))
            return opened[1]["fields"]["api_key"], ai.api_key if ai else None
    finally:
        await db.dispose()


async def test_secrets_rotate_reseals_under_a_new_key_file(tmp_path: Path) -> None:
    assert weft(tmp_path, "migrate").returncode == 0  # commands refuse a missing database
    made = weft(tmp_path, "org", "create", "--name", "Rotate", "--json")
    assert made.returncode == 0, made.stderr
    org = json.loads(made.stdout)["org_id"]
    assert weft(tmp_path, "linked-account", "create", "--org", org, "--id", "c1").returncode == 0
    settings = Settings(data_dir=tmp_path)
    await _seed(settings)
    old_key = (tmp_path / KEY_FILE).read_text()
    db = Database(settings.resolved_database_url)
    async with db.reading() as session:
        sealed_before = (await session.scalars(select(Connection))).one().credentials_sealed
    await db.dispose()

    rotated = weft(tmp_path, "secrets", "rotate", "--json")

    assert rotated.returncode == 0, rotated.stderr
    report = json.loads(rotated.stdout)
    assert report["connections"] == 1 and report["org_secrets"] == 1
    assert "new_key" not in report  # the key file holds it; it is never printed
    new_key = (tmp_path / KEY_FILE).read_text()
    assert new_key != old_key and oct((tmp_path / KEY_FILE).stat().st_mode)[-3:] == "600"
    assert await _read(settings) == (KEY, "ai-key")
    old_box = secret_box(Settings(data_dir=tmp_path, secret_key=old_key))
    db = Database(settings.resolved_database_url)
    async with db.reading() as session:
        row = (await session.scalars(select(Connection))).one()
    await db.dispose()
    assert row.credentials_sealed != sealed_before
    assert await _rotations_logged(settings) == [(org, "production"), (org, "test")]
    with pytest.raises(SecretUnreadable):
        context = (
            f"connection:{row.org_id}:{row.environment}:{row.linked_account_pk}:{row.app_slug}"
        )
        old_box.open(row.credentials_sealed, context=context)


async def _rotations_logged(settings: Settings) -> list[tuple[str, str]]:
    """(org, environment) of each audit row `weft secrets rotate` left, by actor `cli`."""
    db = Database(settings.resolved_database_url)
    try:
        async with db.reading() as session:
            rows = await session.execute(
                select(AuditEvent.org_id, AuditEvent.environment)
                .where(AuditEvent.action == "re-encrypt secrets under a new deployment key")
                .where(AuditEvent.actor == "cli")
                .order_by(AuditEvent.environment)
            )
            return [(org_id, environment) for org_id, environment in rows]
    finally:
        await db.dispose()
