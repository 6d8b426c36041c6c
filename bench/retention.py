"""Retention's prune rate on a backlog of old runs, alone and beside live runs, on both databases.

    .venv/bin/python bench/retention.py [--runs 50000] [--only sqlite,postgres]
        [--callers 16] [--seconds 20]

For each database, one `weft serve` process (systems.one_weft) with the five-step workflow, run
once through its webhook; that run and its step rows are copied in SQL (bench/history.py's
helpers) into a backlog of `--runs` runs that finished long ago, each with the seed's steps.
The pruner is engine.runs.retention's `Retention`, the loop `weft serve` runs, started in this
process on the same database, as a second process's would be: it shares SQLite's writer with
the server (the lock file) and PostgreSQL's rows. The server's own pruner keeps 100 years, so
prunes nothing. Three rounds:

1. live alone: wrk with `--callers` callers for `--seconds` at the webhook (bench/measure.py);
2. backlog alone: from the pruner's start until no copy is left: runs and step rows pruned per
   second, and the CPU of this process, the server and PostgreSQL (in cores, and per 1,000
   runs pruned);
3. live while pruning: a new backlog (three times `--runs`), then round 1 again with the pruner
   started as it begins: live runs per second, and runs pruned per second meanwhile;
4. live alone again (the machine's load changes: rounds 1 and 4 bracket round 3).

Runs per second are wall-clock figures: on a shared machine, print the load average with them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import history
import httpx
import measure
import systems
from sqlalchemy import text

from weft.engine.runs.retention import Retention
from weft.engine.workers.services import Services
from weft.settings import Settings
from weft.store.db import Database

OLD = {
    "sqlite": "'2000-01-01 00:00:00.000000'",
    "postgres": "TIMESTAMPTZ '2000-01-01 00:00:00+00'",
}
# The copies' ids are 'h' + 23 digits (history.py); Weft's own are hex, so never in this range.
COPIES = "'h' <= {alias}id AND {alias}id < 'i'"
# A copied step: 's', the run copy's last 17 digits, the seed step's last 6 hex digits.
STEP_ID = "'s' || substr(e.id, 8) || substr(s.id, 19)"
WARMUP_S = 3.0
LIVE_BACKLOG = 3  # round 3's backlog, in `--runs`: enough to outlast the live round


def _copy_steps_sql(columns: list[str], seed: str) -> str:
    """Give every run copy the seed run's steps."""
    picked = {"id": STEP_ID, "execution_id": "e.id"}
    chosen = ", ".join(picked.get(column, f"s.{column}") for column in columns)
    return (
        f"INSERT INTO steps ({', '.join(columns)}) SELECT {chosen} FROM executions e, steps s "
        f"WHERE s.execution_id = {seed} AND {COPIES.format(alias='e.')}"
    )


def backlog_sqlite(path: str, runs: int, seed: str) -> None:
    """`runs` old copies of the seed run and its steps, in the SQLite file at `path`."""
    db = sqlite3.connect(path)
    total = db.execute("SELECT count(*) FROM executions").fetchone()[0] + runs
    db.close()
    history.grow_sqlite(path, total, seed, finished_at=OLD["sqlite"])
    db = sqlite3.connect(path)
    columns = [row[1] for row in db.execute("PRAGMA table_info(steps)")]
    db.execute(_copy_steps_sql(columns, "?"), (seed,))
    db.commit()
    db.close()


async def backlog_postgres(url: str, runs: int, seed: str) -> None:
    """As `backlog_sqlite`, on PostgreSQL."""
    plain = url.replace("postgresql+asyncpg", "postgresql")
    db = await asyncpg.connect(plain)
    total = await db.fetchval("SELECT count(*) FROM executions") + runs
    await db.close()
    await history.grow_postgres(url, total, seed, finished_at=OLD["postgres"])
    db = await asyncpg.connect(plain)
    columns = [
        row[0]
        for row in await db.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'steps' ORDER BY ordinal_position"
        )
    ]
    await db.execute(_copy_steps_sql(columns, "$1"), seed)
    await db.execute("VACUUM ANALYZE steps")
    await db.close()


@dataclass
class Pruning:
    runs: int
    steps: int
    seconds: float
    cpu_s: float  # this process, the server and PostgreSQL

    @property
    def runs_per_s(self) -> float:
        return self.runs / self.seconds

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.seconds


class Bench:
    """One database: the server's, a handle on it for the pruner, and the backlog's seed."""

    def __init__(self, db: str, weft: systems.OneWeft, hook: str, seed: str) -> None:
        self.name, self.weft, self.hook, self.seed = db, weft, hook, seed
        url = weft.database_url
        if db == "sqlite":
            url = f"sqlite+aiosqlite:///{url}"
        self.db = Database(url)
        settings = Settings(database_url=url, data_dir=Path(tempfile.mkdtemp()))
        self.services = Services(db=self.db, settings=settings, outbound=None, sandbox=None)

    async def left(self) -> tuple[int, int]:
        """Run copies and step copies not pruned yet."""
        async with self.db.reading() as session:
            runs = await session.scalar(
                text(f"SELECT count(*) FROM executions WHERE {COPIES.format(alias='')}")
            )
            steps = await session.scalar(
                text(f"SELECT count(*) FROM steps WHERE {COPIES.format(alias='execution_')}")
            )
        return int(runs or 0), int(steps or 0)

    async def all_pruned(self) -> None:
        while True:
            if not (await self.left())[0]:
                return
            await asyncio.sleep(0.25)

    async def add_backlog(self, runs: int) -> None:
        began = time.monotonic()
        if self.name == "postgres":
            await backlog_postgres(self.weft.database_url, runs, self.seed)
        else:
            await asyncio.to_thread(backlog_sqlite, self.weft.database_url, runs, self.seed)
        print(
            f"{self.name}: backlog of {runs:,} in {time.monotonic() - began:.0f} s", file=sys.stderr
        )

    def cpu_s(self) -> float:
        return time.process_time() + measure.tree_cpu_s(self.weft.roots)

    async def prune_all(self) -> Pruning:
        """Round 2: the pruner's rounds until no copy is left."""
        runs, steps = await self.left()
        pruner = Retention(self.services)
        began, cpu = time.monotonic(), self.cpu_s()
        rounds = asyncio.create_task(pruner.run())
        await self.all_pruned()
        seconds, cpu = time.monotonic() - began, self.cpu_s() - cpu
        pruner.stop()
        await rounds
        return Pruning(runs, steps, seconds, cpu)

    async def live(self, callers: int, seconds: float, prune: bool) -> tuple[measure.Round, float]:
        """Rounds 1 and 3: a wrk round at the webhook, the pruner started as it begins if
        `prune`; the round and the runs pruned per second meanwhile."""
        loop, begun = asyncio.get_running_loop(), asyncio.Event()
        wrk = asyncio.create_task(
            asyncio.to_thread(
                measure.run_round,
                self.hook,
                self.weft.roots,
                None,
                callers,
                seconds,
                WARMUP_S,
                started=lambda: loop.call_soon_threadsafe(begun.set),
            )
        )
        await begun.wait()
        if not prune:
            return await wrk, 0.0
        pruner = Retention(self.services)
        before, began = (await self.left())[0], time.monotonic()
        rounds = asyncio.create_task(pruner.run())
        left, now = before, began
        while not wrk.done():  # the rate counts while both go on: until the backlog runs out
            left, now = (await self.left())[0], time.monotonic()
            if not left:
                print(f"{self.name}: the backlog ran out before the live round", file=sys.stderr)
                break
            await asyncio.wait({wrk}, timeout=0.25)
        rate = (before - left) / (now - began)
        measured = await wrk
        await self.all_pruned()  # the rest, before the next round
        pruner.stop()
        await rounds
        return measured, rate


async def rounds(bench: Bench, backlog: int, callers: int, seconds: float) -> str:
    before, _ = await bench.live(callers, seconds, prune=False)
    await bench.add_backlog(backlog)
    alone = await bench.prune_all()
    await bench.add_backlog(backlog * LIVE_BACKLOG)
    busy, rate = await bench.live(callers, seconds, prune=True)
    after, _ = await bench.live(callers, seconds, prune=False)
    await bench.db.dispose()
    errors = f"{before.errors} / {busy.errors} / {after.errors}"
    return (
        f"| {bench.name} | {alone.runs:,} | {alone.runs_per_s:,.0f} | {alone.steps_per_s:,.0f} "
        f"| {alone.cpu_s / alone.seconds:.2f} | {alone.cpu_s / alone.runs * 1000:.2f} "
        f"| {before.per_s:,.0f} / {after.per_s:,.0f} | {busy.per_s:,.0f} | {rate:,.0f} "
        f"| {errors} | {os.getloadavg()[0]:.1f} |"
    )


def bench(db: str, backlog: int, callers: int, seconds: float, sink: systems.Sink) -> str:
    env = {**systems.WEFT_BENCH_ENV, "WEFT_RETENTION_DAYS": "36500"}
    with systems.one_weft(db, env) as weft:
        headers = {"Authorization": f"Bearer {weft.token}"}
        with httpx.Client(base_url=weft.base, headers=headers, timeout=60) as client:
            hook, seed = history.five_step_and_a_run(client, weft.base, sink.url)
        row = asyncio.run(rounds(Bench(db, weft, hook, seed), backlog, callers, seconds))
        print(row, file=sys.stderr)
        return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50_000)
    parser.add_argument("--only", default="sqlite,postgres")
    parser.add_argument("--callers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    sink = systems.Sink()
    rows = []
    try:
        for db in args.only.split(","):
            rows.append(bench(db, args.runs, args.callers, args.seconds, sink))
    finally:
        sink.stop()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{os.cpu_count()} cores, load average {load} (1, 5, 15 min)\n")
    print(
        "| database | backlog, runs | pruned alone, runs/s | step rows/s | CPU, cores "
        "| CPU s per 1,000 runs | live alone before / after, runs/s "
        "| live while pruning, runs/s | pruned meanwhile, runs/s "
        "| failed requests (before / while / after) "
        "| load average |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
