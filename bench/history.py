"""List latency as an account's history grows: 1k, then 1M runs (or --runs), on both databases.

    .venv/bin/python bench/history.py [--runs 1000,1000000] [--only sqlite,postgres]

For each database, one `weft serve` process with one linked account: one real five-step run is
made through a webhook, then copied in SQL up to each history size (copies are finished runs,
as retention would leave them; no steps, which lists do not read), the tables are analysed,
and each list is asked `--requests` (200) times in a row: p50 and p95 of the wall time per answer.
`PYTHONPATH=<another checkout>/src` measures another version with the same script.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import time

import asyncpg
import httpx
import systems

import workflows

NEW_ID_SQLITE = "'h' || printf('%023d', i)"
NEW_ID_POSTGRES = "'h' || lpad(i::text, 23, '0')"
LISTS = {
    "executions": "/execution?limit=10",
    "executions COMPLETED": "/execution?limit=10&status=COMPLETED",
    "executions page 50": "/execution?limit=10&page=50",
    "workflows": "/workflow?limit=10",
}


def _copied_columns(columns: list[str], new_id: str, values: dict[str, str]) -> str:
    """The SELECT list copying the seed row: a new id; no idempotency key, nothing due; any
    other column given in `values` (SQL expressions) set so."""
    picked = {"id": new_id, "idempotency_key": "NULL", "due_at": "NULL", **values}
    return ", ".join(picked.get(column, f"e.{column}") for column in columns)


def grow_sqlite(path: str, total: int, seed: str, **values: str) -> None:
    """Copy the seed run until the database has `total` runs (ids 'h' + 23 digits); `values`:
    columns the copies take from SQL expressions instead (e.g. an older `finished_at`)."""
    db = sqlite3.connect(path)
    columns = [row[1] for row in db.execute("PRAGMA table_info(executions)")]
    have = db.execute("SELECT count(*) FROM executions").fetchone()[0]
    numbers = f"SELECT {have} UNION ALL SELECT i + 1 FROM n WHERE i < {total - 1}"
    db.execute(
        f"WITH RECURSIVE n(i) AS ({numbers}) INSERT INTO executions ({', '.join(columns)}) "
        f"SELECT {_copied_columns(columns, NEW_ID_SQLITE, values)} "
        "FROM n, executions e WHERE e.id = ?",
        (seed,),
    )
    db.commit()
    db.execute("ANALYZE")
    db.close()


async def grow_postgres(url: str, total: int, seed: str, **values: str) -> None:
    """As `grow_sqlite`, on PostgreSQL."""
    db = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    columns = [
        row[0]
        for row in await db.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'executions' ORDER BY ordinal_position"
        )
    ]
    have = await db.fetchval("SELECT count(*) FROM executions")
    await db.execute(
        f"INSERT INTO executions ({', '.join(columns)}) "
        f"SELECT {_copied_columns(columns, NEW_ID_POSTGRES, values)} "
        f"FROM generate_series({have}, {total - 1}) i, executions e WHERE e.id = $1",
        seed,
    )
    await db.execute("VACUUM ANALYZE executions")
    await db.close()


def measure(client: httpx.Client, path: str, requests: int) -> tuple[float, float]:
    times = []
    for _ in range(requests):
        began = time.perf_counter()
        answer = client.get(systems.API + path)
        times.append((time.perf_counter() - began) * 1000)
        answer.raise_for_status()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def five_step_and_a_run(client: httpx.Client, base: str, sink_url: str) -> tuple[str, str]:
    """Publish the five-step workflow (signed-in `client`) and run it once through its webhook:
    the webhook's URL and the run's id, the seed the copies are made from."""
    created = client.post(systems.API + "/workflow", json={"name": "history"}).json()
    workflow = created["workflow"]["associated_workflow"]
    client.put(
        f"{systems.API}/workflow/{workflow}/draft", json=workflows.WEFT["five-step"](sink_url)
    ).raise_for_status()
    client.put(
        f"{systems.API}/workflow/{workflow}/publish", json={"published": True}
    ).raise_for_status()
    hook = base + client.get(f"{systems.API}/workflow/{workflow}").json()["webhook_path"]
    return hook, httpx.post(hook, json={"n": 1}, timeout=60).headers["x-execution-id"]


def bench(db: str, sizes: list[int], requests: int, sink: systems.Sink) -> list[str]:
    rows = []
    with systems.one_weft(db, {"WEFT_OUTBOUND_ALLOW": "127.0.0.1"}) as weft:
        headers = {"Authorization": f"Bearer {weft.token}"}
        with httpx.Client(base_url=weft.base, headers=headers, timeout=60) as client:
            _, seed = five_step_and_a_run(client, weft.base, sink.url)
            for size in sizes:
                began = time.monotonic()
                if db == "postgres":
                    asyncio.run(grow_postgres(weft.database_url, size, seed))
                else:
                    grow_sqlite(weft.database_url, size, seed)
                print(f"{db}: {size} runs in {time.monotonic() - began:.0f} s", file=sys.stderr)
                for name, path in LISTS.items():
                    p50, p95 = measure(client, path, requests)
                    rows.append(f"| {db} | {size:,} | {name} | {p50:.1f} | {p95:.1f} |")
                    print(rows[-1], file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="1000,1000000")
    parser.add_argument("--only", default="sqlite,postgres")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    sizes = [int(size) for size in args.runs.split(",")]
    sink = systems.Sink()
    rows = []
    try:
        for db in args.only.split(","):
            rows += bench(db, sizes, args.requests, sink)
    finally:
        sink.stop()
    print(f"load average {os.getloadavg()[0]:.1f}\n")
    print("| database | runs in the account | list | p50 ms | p95 ms |")
    print("| --- | ---: | --- | ---: | ---: |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
