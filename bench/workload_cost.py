"""CPU per run of the `mapping`, `loop` and `trivial` workloads (bench/workflows.py), in process.

    PYTHONPATH=src .venv/bin/python bench/workload_cost.py [--rounds 6] [--only sqlite,postgres]
        [--workloads mapping,loop] [--profile mapping]   # cProfile this thread's part instead

The runs go through the interpreter (`Runner`) as `loop_cost.py`'s do, with the caller's body
as the trigger's. CPU is this process's (`time.process_time`, every thread) plus that of the
jlens helper processes it started (from /proc, in clock ticks), plus PostgreSQL's server's; per
round a block of BLOCK runs of each workload, alternating order, garbage collector held off;
the median over rounds. The run's HTTP side (parsing the body, the door's checks, answering) is
not in it: `bench/run.py` measures the whole.
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
import time
from typing import Any

from loop_cost import OWNER, Bench, bench_database
from measure import tree_cpu_s

import workflows
from weft.engine.runs import states
from weft.settings import Settings
from weft.store.db import Database
from weft.store.tables import Execution

BLOCK = 40
WORKLOADS = {
    "mapping": workflows.weft_mapping,
    "loop": workflows.weft_loop,
    "trivial": workflows.weft_trivial,
}
BODIES = {**workflows.BODIES, "trivial": {}}


class Workloads(Bench):
    """`loop_cost.Bench` with a version per workload, runs queued with each one's body."""

    split: dict[str, list[tuple[float, float]]]

    async def seed_workloads(self) -> dict[str, int]:
        self.split = {}
        await self.seed()
        return {
            name: self.add_version(graph()["nodes"], graph()["edges"])
            for name, graph in WORKLOADS.items()
        }

    async def queue_workload(self, version: int, name: str) -> str:
        """Queue one run of workload `name` (its `version`) with its body; its id."""
        payload = {"body": {"n": 1, **BODIES[name]}, "headers": {}, "query": {}}
        return await self.queue(version, payload)

    async def workload_block(self, version: int, name: str, pids: list[int]) -> float:
        """CPU seconds per run over BLOCK runs of workload `name` (see the module's doc)."""
        ids = [await self.queue_workload(version, name) for _ in range(BLOCK)]
        gc.collect()
        gc.disable()
        try:
            began, others = time.process_time(), _others_cpu_s(pids)
            await self.run_queued(BLOCK)
            own = time.process_time() - began
            helpers = _others_cpu_s(pids) - others
            spent = own + helpers
            self.split.setdefault(name, []).append((own / BLOCK * 1000, helpers / BLOCK * 1000))
        finally:
            gc.enable()
        async with self.db.reading() as session:
            for execution_id in ids:
                found = await session.get(Execution, execution_id)
                assert found is not None and found.status == states.SUCCEEDED, (
                    found.status,
                    found.error,
                )
        return spent / BLOCK


def _others_cpu_s(server_pids: list[int]) -> float:
    """CPU of this process's children (jlens helpers) and of the database server."""
    me = os.getpid()
    return tree_cpu_s([me]) - _own_ticks(me) + tree_cpu_s(server_pids)


def _own_ticks(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    url: str, folder: Any, rounds: int, profile: str | None, pids: list[int]
) -> dict[str, float]:
    db = Database(url)
    bench = Workloads(db, Settings(database_url=url, data_dir=folder), OWNER)
    try:
        versions = await bench.seed_workloads()
        for name in WORKLOADS:
            await bench.workload_block(versions[name], name, pids)
        if profile:
            ids = [
                await bench.queue_workload(versions[profile], profile)
                for _ in range(rounds * BLOCK)
            ]
            # On this thread's CPU clock: time spent waiting (epoll, the GIL, a lock) is not work.
            profiler = cProfile.Profile(time.thread_time)
            profiler.enable()
            await bench.run_queued(len(ids))
            profiler.disable()
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats(30)
            stats.sort_stats("cumulative").print_stats(50)
            return {}
        cpu: dict[str, list[float]] = {name: [] for name in WORKLOADS}
        for number in range(rounds):
            names = list(WORKLOADS) if number % 2 else list(reversed(WORKLOADS))
            for name in names:
                cpu[name].append(await bench.workload_block(versions[name], name, pids))
    finally:
        await db.dispose()
    for name, pairs in bench.split.items():
        own = statistics.median(pair[0] for pair in pairs)
        others = statistics.median(pair[1] for pair in pairs)
        print(f"{name}: this process {own:.2f} ms, helpers and database {others:.2f} ms")
    return {name: statistics.median(values) * 1000 for name, values in cpu.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--only", default="sqlite")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    args = parser.parse_args()
    for name in set(WORKLOADS) - set(args.workloads.split(",")):
        del WORKLOADS[name]
    for db in args.only.split(","):
        with bench_database(db) as (url, folder, pids):
            found = asyncio.run(measure(url, folder, args.rounds, args.profile, pids))
        if found:
            cells = " | ".join(f"{name} {ms:.2f} ms" for name, ms in found.items())
            print(f"| {db} | {cells} |", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}", file=sys.stderr)


if __name__ == "__main__":
    main()
