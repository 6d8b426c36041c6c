"""A rolling upgrade from the previous release, with runs in flight (docs/upgrades.md).

The previous release's code comes from the repository's own history (`git archive` of a pinned
commit, no network): it migrates an empty database, serves, and starts runs that park (a long
delay; a parent waiting for a child that parks). Then, while it still serves, the current code
migrates the database (expand), the previous release keeps starting and parking runs on the new
schema, the current code starts beside it, and the previous release stops. The current code
finishes every run: each step ran once, and each run ends with the output it would have had.

The delays are an hour long and made due by the test once the previous release has stopped, so
the current code alone finishes them, whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text, update

from engine.flows import BASE
from graphs import MANUAL_START, chain, node
from hosts import Host, start_host
from support import DATABASES, asyncpg_url
from weft.clock import now
from weft.store.db import Database
from weft.store.tables import Execution, Step
from worker_processes import worker_env

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
# The release before this one: the last landed stop (session 29). Move it forward at each
# release; WEFT_PREVIOUS_RELEASE names another commit of the history to upgrade from.
PREVIOUS_RELEASE = os.environ.get(
    "WEFT_PREVIOUS_RELEASE", "a28a74043805e9bf54d54a6319649ea1a63fd100"
)
MIGRATIONS = Path("weft/migrations/versions")
HOUR = 3600
RUNS_BEFORE = 2  # of each kind, started by the previous release on its own schema
HOST_ENV = {"WEFT_RATE_LIMIT_API_KEY": "0", "WEFT_RATE_LIMIT_SESSION_TOKEN": "0"}


# Two releases side by side on one database is a PostgreSQL deployment (several hosts); SQLite
# serves one host and upgrades by a restart. `WEFT_UPGRADE_DATABASES=sqlite,postgres` runs the
# test on both (it passes on SQLite too, in a minute more of the slow tier).
UPGRADE_DATABASES = os.environ.get("WEFT_UPGRADE_DATABASES", "postgres").split(",")


@pytest.fixture(params=[name for name in DATABASES if name in UPGRADE_DATABASES])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database no code has migrated yet."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'upgrade.db'}"
    server = request.getfixturevalue("postgres_server")
    name = f"weft_upgrade_{uuid.uuid4().hex[:8]}"
    server.psql(f"CREATE DATABASE {name};")
    return asyncpg_url(server, name)


def previous_release_source(folder: Path) -> Path:
    """The previous release's `src/`, taken from this clone's history."""
    known = subprocess.run(
        ["git", "-C", str(REPO), "cat-file", "-e", f"{PREVIOUS_RELEASE}^{{commit}}"],
        capture_output=True,
    )
    if known.returncode != 0:
        pytest.fail(
            f"commit {PREVIOUS_RELEASE} (the previous release) is not in this clone's history: "
            "a shallow clone? `git fetch --unshallow` brings it"
        )
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", PREVIOUS_RELEASE, "src/weft"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder / "src"


def weft_cli(db_url: str, data_dir: Path, src: Path, *args: str) -> Any:
    """`weft <args>` of the code in `src` (its JSON answer, if it printed one)."""
    done = subprocess.run(
        [sys.executable, "-m", "weft", *args],
        env=worker_env(db_url, data_dir, PYTHONPATH=str(src)),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout) if "--json" in args else done.stdout


async def test_the_current_code_finishes_runs_the_previous_release_parked(
    empty_db_url: str, tmp_path: Path
) -> None:
    url, data = empty_db_url, tmp_path / "cli"
    data.mkdir()
    previous_src = await asyncio.to_thread(previous_release_source, tmp_path / "previous-release")
    current_src = REPO / "src"
    await asyncio.to_thread(weft_cli, url, data, previous_src, "migrate")
    assert await schema_revision(url) == newest_revision(previous_src)
    org = weft_cli(url, data, previous_src, "org", "create", "--name", "upgrade", "--json")
    sign_in = ("token", "create", "--org", org["org_id"], "--linked-account", "upgrade", "--json")
    token = weft_cli(url, data, previous_src, *sign_in)["token"]
    previous = await asyncio.to_thread(
        start_host, "previous", url, tmp_path, PYTHONPATH=str(previous_src), **HOST_ENV
    )
    current: Host | None = None
    db = Database(url)
    try:
        async with Api(previous, token) as old_api:
            flows = await old_api.publish_flows()
            started = [await old_api.start(flows, i) for i in range(RUNS_BEFORE)]
            await wait_parked(db, started)
            # Expand: the current code migrates while the previous release serves.
            await asyncio.to_thread(weft_cli, url, data, current_src, "migrate")
            assert await schema_revision(url) == newest_revision(current_src)
            started.append(await old_api.start(flows, RUNS_BEFORE))  # side by side, new schema
            current = await asyncio.to_thread(
                start_host, "current", url, tmp_path, PYTHONPATH=str(current_src), **HOST_ENV
            )
            async with Api(current, token) as new_api:
                started.append(await new_api.start(flows, RUNS_BEFORE + 1))
                await wait_parked(db, started)
                assert await asyncio.to_thread(previous.stop), "the previous release hung"
                await make_delays_due(db, flows)
                outputs = await wait_outputs(new_api, started)
        repeated = await repeated_steps(db)
    finally:
        await db.dispose()
        previous.kill_remaining()
        if current is not None:
            current.stop()

    runs = RUNS_BEFORE + 2
    assert outputs == {
        **{("delayed", i): f"delayed {i}" for i in range(runs)},
        **{("parent", i): {"child": f"child {i}"} for i in range(runs)},
    }
    assert repeated == {}, "a step ran twice across the upgrade"


def newest_revision(src: Path) -> str:
    """The newest migration of the code in `src` (revisions are numbered in file names)."""
    return max(path.name.split("_", 1)[0] for path in (src / MIGRATIONS).glob("0*.py"))


async def schema_revision(url: str) -> str:
    db = Database(url)
    try:
        async with db.reading() as session:
            return str(await session.scalar(text("SELECT version_num FROM alembic_version")))
    finally:
        await db.dispose()


class Api:
    """The public API of one host, as a client calls it."""

    def __init__(self, host: Host, token: str) -> None:
        self.http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{host.port}{BASE}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def publish(self, name: str, nodes: list[dict[str, Any]]) -> str:
        created = await self.http.post("/workflow", json={"name": name})
        assert created.status_code == 200, created.text
        workflow_id = str(created.json()["workflow"]["associated_workflow"])
        graph = {"nodes": nodes, "edges": chain(*nodes)}
        assert (await self.http.put(f"/workflow/{workflow_id}/draft", json=graph)).is_success
        published = await self.http.put(
            f"/workflow/{workflow_id}/publish", json={"published": True}
        )
        assert published.status_code == 200, published.text
        return workflow_id

    async def publish_flows(self) -> dict[str, str]:
        """A run parked on a delay; a parent waiting for a child parked on a delay."""

        def waiting(name: str) -> list[dict[str, Any]]:
            done = node("3", "transform", "Done", value=name + " {{ trigger.i }}")
            return [MANUAL_START, node("2", "delay", "Wait", seconds=HOUR), done]

        delayed = await self.publish("delayed", waiting("delayed"))
        child = await self.publish("child", waiting("child"))
        call = node("2", "workflow", "Child", workflow_id=child, payload={"i": "{{ trigger.i }}"})
        done = node("3", "transform", "Done", value={"child": "{{ nodes.child }}"})
        parent = await self.publish("parent", [MANUAL_START, call, done])
        return {"delayed": delayed, "child": child, "parent": parent}

    async def start(self, flows: dict[str, str], i: int) -> dict[tuple[str, int], str]:
        """One run of the delayed workflow and one of the parent; their execution ids."""
        ids = {}
        for kind in ("delayed", "parent"):
            answer = await self.http.post(
                f"/workflow/{flows[kind]}/execute", json={"payload": {"i": i}}
            )
            assert answer.status_code == 200, answer.text
            ids[(kind, i)] = str(answer.json()["execution_id"])
        return ids

    async def output(self, execution_id: str) -> tuple[str, Any]:
        body = (await self.http.get(f"/execution/{execution_id}")).json()
        return body["status"], body.get("output")


async def wait_parked(db: Database, started: list[dict[tuple[str, int], str]]) -> None:
    """Until every run started is waiting (its children too), so the upgrade finds them parked."""
    ids = [execution_id for runs in started for execution_id in runs.values()]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while True:
        async with db.reading() as session:
            statuses = Counter(
                await session.scalars(
                    select(Execution.status).where(
                        (Execution.id.in_(ids)) | (Execution.parent_execution_id.in_(ids))
                    )
                )
            )
        if statuses == {"waiting": len(ids) + len(ids) // 2}:  # each parent has a child
            return
        assert loop.time() < deadline, f"runs not parked: {statuses}"
        await asyncio.sleep(0.2)


async def make_delays_due(db: Database, flows: dict[str, str]) -> None:
    """The hour-long delays end now (the runs resume after their committed delay step)."""
    async with db.transaction() as session:
        await session.execute(
            update(Execution)
            .where(
                Execution.workflow_id.in_([flows["delayed"], flows["child"]]),
                Execution.status == "waiting",
            )
            .values(due_at=now())  # the workers poll for due runs every WEFT_POLL_S
        )


async def wait_outputs(
    api: Api, started: list[dict[tuple[str, int], str]], timeout_s: float = 90
) -> dict[tuple[str, int], Any]:
    """Each run's output once all ended (failing with their statuses if they did not)."""
    runs = {key: execution_id for batch in started for key, execution_id in batch.items()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        seen = {key: await api.output(execution_id) for key, execution_id in runs.items()}
        if all(status == "COMPLETED" for status, _ in seen.values()):
            return {key: output for key, (_, output) in seen.items()}
        assert loop.time() < deadline, f"runs did not end on the current code: {seen}"
        await asyncio.sleep(0.3)


async def repeated_steps(db: Database) -> dict[tuple[str, str], int]:
    """(execution, node) pairs with more than one step row."""
    async with db.reading() as session:
        rows = await session.execute(
            select(Step.execution_id, Step.node_id, func.count())
            .group_by(Step.execution_id, Step.node_id)
            .having(func.count() > 1)
        )
        return {(execution, node_id): n for execution, node_id, n in rows}
