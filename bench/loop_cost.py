"""The engine's CPU per loop pass and per step: a 100-item loop with a trivial body, run in
process through the interpreter (`Runner`) on SQLite or PostgreSQL, against the same loop over
no items.

    PYTHONPATH=src .venv/bin/python bench/loop_cost.py [--rounds 8] [--only sqlite,postgres]
        [--profile]   # cProfile the 100-item runs instead (this thread only: not SQLite's writer)

Workflows: start -> loop over `trigger.items` -> a body of one (or two) transforms whose value is
a constant, so no expression is evaluated and what is left is the engine: walking the body,
building each step's scope and context, buffering, encoding and writing its row, and reading the
loop's output back. CPU time is measured (`time.process_time`, every thread of this process), so
the load of other processes on a shared machine counts little; SQLite runs in the process, and
PostgreSQL's server processes' CPU (from /proc, in clock ticks) is added to it. Each round runs a
block of BLOCK runs of each shape, in alternating order, with Python's garbage collector held off
(a collection would land on one shape by chance); the median over rounds is taken.

- per pass: (CPU of the 100-item run - CPU of the 0-item run) / 100, a body of one step;
- per step: (CPU with a body of two steps - CPU with a body of one) / 100.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

import systems
from measure import tree_cpu_s

from in_process import InProcessRuns
from weft.engine.runs import states
from weft.settings import Settings
from weft.store.db import Database
from weft.store.migrate import upgrade_to_head
from weft.store.tables import Execution

ITEMS = 100
BLOCK = 10  # runs of one shape measured together (PostgreSQL's CPU is read in 10 ms ticks)
OWNER = "bench"


def loop_graph(body_steps: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """start -> loop over trigger.items -> `body_steps` constant transforms in a row."""
    nodes: list[dict[str, Any]] = [
        {"id": "1", "type": "start", "name": "Start", "data": {"trigger": "manual"}},
        {"id": "2", "type": "loop", "name": "Each", "data": {"items": "trigger.items"}},
    ]
    edges = [{"source": "1", "target": "2"}]
    previous, handle = "2", "body"
    for index in range(body_steps):
        node_id = str(3 + index)
        nodes.append(
            {"id": node_id, "type": "transform", "name": f"B{index}", "data": {"value": 1}}
        )
        edges.append({"source": previous, "target": node_id, "sourceHandle": handle})
        previous, handle = node_id, None
    return nodes, edges


class Bench(InProcessRuns):
    """The loop with a body of one and of two steps, each a version, run in process."""

    async def seed(self) -> None:
        await super().seed()
        self.loops = {steps: self.add_version(*loop_graph(steps)) for steps in (1, 2)}

    async def queue_loop(self, body_steps: int, items: int) -> str:
        """Queue one run of the loop with `body_steps` over `items` items; its id."""
        return await self.queue(self.loops[body_steps], {"items": list(range(items))})

    async def run_queued(self, count: int) -> None:
        """Claim and run `count` queued runs to their ends, one after another."""
        for _ in range(count):
            await self.run_next()

    async def block(self, body_steps: int, items: int, server_pids: list[int]) -> float:
        """CPU seconds per run (this process and the database server's) over BLOCK runs; the
        runs are queued first, so only claiming and running them is counted."""
        ids = [await self.queue_loop(body_steps, items) for _ in range(BLOCK)]
        gc.collect()  # a collection falls on no shape by chance: none runs while measuring
        gc.disable()
        try:
            began, server_began = time.process_time(), tree_cpu_s(server_pids)
            await self.run_queued(BLOCK)
            spent = time.process_time() - began + tree_cpu_s(server_pids) - server_began
        finally:
            gc.enable()
        async with self.db.reading() as session:
            for execution_id in ids:
                found = await session.get(Execution, execution_id)
                assert found is not None and found.status == states.SUCCEEDED, found
        return spent / BLOCK


async def measure(
    url: str, data_dir: Path, rounds: int, profile: bool, server_pids: list[int]
) -> dict[str, float]:
    db = Database(url)
    settings = Settings(database_url=url, data_dir=data_dir)
    bench = Bench(db, settings, OWNER)
    try:
        await bench.seed()
        shapes = [(1, 0), (1, ITEMS), (2, ITEMS)]
        for shape in shapes:  # warm: plans, statement caches, imports
            await bench.block(*shape, server_pids)
        if profile:
            for _ in range(rounds * BLOCK):
                await bench.queue_loop(1, ITEMS)
            profiler = cProfile.Profile()
            profiler.enable()
            await bench.run_queued(rounds * BLOCK)
            profiler.disable()
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats(35)
            stats.sort_stats("cumulative").print_stats(45)
            return {}
        cpu: dict[tuple[int, int], list[float]] = {shape: [] for shape in shapes}
        for number in range(rounds):
            for shape in shapes if number % 2 else reversed(shapes):
                cpu[shape].append(await bench.block(*shape, server_pids))
    finally:
        await db.dispose()
    median = {shape: statistics.median(values) for shape, values in cpu.items()}
    return {
        "run_0_ms": median[(1, 0)] * 1000,
        "run_100_ms": median[(1, ITEMS)] * 1000,
        "per_pass_us": (median[(1, ITEMS)] - median[(1, 0)]) / ITEMS * 1e6,
        "per_step_us": (median[(2, ITEMS)] - median[(1, ITEMS)]) / ITEMS * 1e6,
    }


@contextmanager
def bench_database(db: str) -> Iterator[tuple[str, Path, list[int]]]:
    """A fresh, migrated database: its URL, a data folder and its server's pids; PostgreSQL's
    server is stopped after."""
    folder = Path(tempfile.mkdtemp(prefix="weft-loop-bench-"))
    postgres = None if db == "sqlite" else systems.Postgres()
    try:
        if postgres is None:
            url, pids = f"sqlite+aiosqlite:///{folder / 'weft.db'}", []
        else:
            url, pids = postgres.database("bench"), [postgres.postmaster_pid()]
        upgrade_to_head(url)  # before the event loop: the migrations run one of their own
        yield url, folder, pids
    finally:
        if postgres is not None:
            postgres.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--only", default="sqlite,postgres")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    print("| database | 0-item run, CPU ms | 100-item run, CPU ms | per pass, µs | per step, µs |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for db in args.only.split(","):
        with bench_database(db) as (url, folder, pids):
            found = asyncio.run(measure(url, folder, args.rounds, args.profile, pids))
        if found:
            print(
                f"| {db} | {found['run_0_ms']:.2f} | {found['run_100_ms']:.2f} "
                f"| {found['per_pass_us']:.1f} | {found['per_step_us']:.1f} |",
                flush=True,
            )
    print(f"\nload average {os.getloadavg()[0]:.1f}", file=sys.stderr)


if __name__ == "__main__":
    main()
