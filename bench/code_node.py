"""Micro-benchmark: CPU per code-node call, fresh isolate (cold) against warm context.

Runs the five-step workflow's code step (bench/workflows.py) on a one-worker SandboxPool, calls
in sequence, and charges each call with the CPU of this process and of the pool's worker
subprocess (user + system from /proc/<pid>/stat, so the worker's background work, building
spare isolates and disposing of used ones, is included). Usage:

    .venv/bin/python bench/code_node.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path
from typing import Any

from weft.sandbox import SandboxPool
from workflows import weft_five_step

TICKS_PER_S = os.sysconf("SC_CLK_TCK")
ROUNDS = 3


def _worker_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # utime + stime


def _cpu_s(pool: SandboxPool) -> float:
    return time.process_time() + sum(_worker_cpu_s(pid) for pid in pool.worker_pids())


def _five_step_code() -> str:
    nodes = weft_five_step("http://127.0.0.1:1/")["nodes"]
    return next(node["data"]["source"] for node in nodes if node["type"] == "code")


def _input(n: int) -> dict[str, Any]:
    body = {"n": n}
    return {"trigger": {"body": body}, "nodes": {"shape": {"n": n, "double": n * 2}}, "loop": None}


async def _round(
    pool: SandboxPool, source: str, calls: int, scope: str | None
) -> tuple[float, float]:
    """(µs of CPU per call, µs of wall time per call) over `calls` sequential calls."""
    for n in range(20):  # warm-up: spares built, the warm context made
        await pool.run(source, _input(n), scope=scope, caller="org/bench")
    await asyncio.sleep(0.5)  # let the worker finish its background work
    cpu, wall = _cpu_s(pool), time.perf_counter()
    for n in range(calls):
        assert await pool.run(source, _input(n), scope=scope, caller="org/bench") == 2 * n + 1
    await asyncio.sleep(0.5)  # charge the background work the calls caused
    cpu, wall = _cpu_s(pool) - cpu, time.perf_counter() - wall - 0.5
    return cpu / calls * 1e6, wall / calls * 1e6


async def main(calls: int) -> None:
    """Alternate cold and warm rounds and print the median of each."""
    source = _five_step_code()
    figures: dict[str, list[tuple[float, float]]] = {"cold": [], "warm": []}
    async with SandboxPool(1) as pool:
        for _ in range(ROUNDS):
            figures["cold"].append(await _round(pool, source, calls, None))
            figures["warm"].append(await _round(pool, source, calls, "bench@1"))
    print(f"code: {source!r}; {calls} sequential calls x {ROUNDS} rounds, median")
    print("| mode | CPU µs/call (all processes) | wall µs/call |")
    print("| --- | ---: | ---: |")
    for mode, rounds in figures.items():
        cpu = statistics.median(figure[0] for figure in rounds)
        wall = statistics.median(figure[1] for figure in rounds)
        print(f"| {mode} | {cpu:.0f} | {wall:.0f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    asyncio.run(main(parser.parse_args().calls))
