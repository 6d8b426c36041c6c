"""Where Weft's CPU goes: py-spy samples `weft serve` while wrk drives one workflow.

    .venv/bin/python bench/cpu_profile.py [--workflow five-step] [--callers 8] [--seconds 20]
        [--postgres]   # any workflow of bench/workflows.py, with its own request body

Needs py-spy (`.venv/bin/pip install py-spy==0.4.3`) and the rights to trace a child process
(root, or ptrace_scope 0). Samples only threads holding the GIL (`--gil`): py-spy's idle
detection does not see aiosqlite's threads blocked on their queues, so without it they look
busy. SQLite's own C work runs without the GIL, so the per-thread CPU from /proc is printed
too. Prints the share of samples by the package of the innermost frame (self time) and of a
few engine functions anywhere on the stack (inclusive), and leaves the folded stacks in
bench/.results/ for a flame graph.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import systems
from measure import TICKS_PER_S, run_round

import workflows

RESULTS = Path(__file__).resolve().parent / ".results"

# Self time is charged to the first of these that the innermost frame's file path contains.
PACKAGES = [
    ("sqlalchemy", "SQLAlchemy"),
    ("aiosqlite", "aiosqlite (thread hop)"),
    ("asyncpg", "asyncpg"),
    ("sqlite3", "sqlite3 driver"),
    ("jsonata", "JSONata"),
    ("py_mini_racer", "V8 (mini-racer)"),
    ("weft/sandbox", "code sandbox"),
    ("aiohttp", "aiohttp (outbound)"),
    ("yarl", "aiohttp (outbound)"),
    ("multidict", "aiohttp (outbound)"),
    ("starlette", "FastAPI/Starlette"),
    ("fastapi", "FastAPI/Starlette"),
    ("pydantic", "pydantic"),
    ("uvicorn", "uvicorn"),
    ("httptools", "uvicorn"),
    ("weft/expressions", "weft expressions"),
    ("weft/engine", "weft engine"),
    ("weft/api", "weft api"),
    ("weft/", "weft other"),
    ("asyncio", "asyncio/uvloop"),
    ("uvloop", "asyncio/uvloop"),
    ("threading", "threads"),
    ("json", "json"),
]
# Inclusive time of these functions (anywhere on the stack).
FUNCTIONS = [
    "inbound_webhook",  # the API side of a sync webhook, waiting included
    "wait_for_run",  # the sync caller waiting for the respond node
    "get_execution",
    "Runner._step",  # the worker running one step
    "OutboundClient.request",
    "SandboxPool.run",
    "evaluate",
    "render",
    "SqliteWriter.apply",  # a group commit's transaction (engine.commits.FencedWriter)
    "PostgresWriter.apply",
    "claim_due_executions",
    "find_webhook",
    "webhook_execution",
    "_connection_worker_thread",  # aiosqlite's per-connection threads (the driver's own work)
]
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:]*)(?::\d+)?\)$")


def _package(frame: str) -> str:
    found = _FRAME.match(frame)
    path = found.group("file") if found else frame
    for needle, label in PACKAGES:
        if needle in path:
            return label
    return "other"


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds so far of each thread of `pid`, by thread id."""
    seconds: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[int(task.name)] = (int(fields[11]) + int(fields[12])) / TICKS_PER_S
    return seconds


def python_thread_names(py_spy: str, pid: int) -> dict[int, str]:
    """Python's name of each thread of `pid` by native thread id, from one py-spy dump."""
    dump = subprocess.run([py_spy, "dump", "--pid", str(pid)], capture_output=True, text=True)
    return {
        int(native): name
        for native, name in re.findall(r'^Thread (\d+) \(\w+\): "([^"]*)"', dump.stdout, re.M)
    }


def summarise(folded: Path) -> None:
    """Print self time by package and inclusive time of engine functions, as % of samples."""
    total = 0
    by_package: collections.Counter[str] = collections.Counter()
    by_function: collections.Counter[str] = collections.Counter()
    for line in folded.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        by_package[_package(frames[-1])] += count
        names = {(_FRAME.match(f).group("func") if _FRAME.match(f) else f) for f in frames}
        for function in FUNCTIONS:
            if function in names:
                by_function[function] += count
    print(f"\n{total} samples\n\n| self time in | share |\n| --- | ---: |")
    for label, count in by_package.most_common():
        print(f"| {label} | {100 * count / total:.0f} % |")
    print("\n| inclusive time of | share |\n| --- | ---: |")
    for function, count in by_function.most_common():
        print(f"| `{function}` | {100 * count / total:.0f} % |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workflow", default="five-step", choices=sorted(workflows.WEFT))
    parser.add_argument("--callers", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--native",
        action="store_true",
        help="sample every thread with C frames (SQLite's own work) instead of the GIL holder",
    )
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    sink = systems.Sink()
    postgres = systems.Postgres() if args.postgres else None
    url = postgres.database("profile") if postgres else None
    roots = [postgres.postmaster_pid()] if postgres else []
    system = systems.start_weft("weft-x1", sink.url, url, roots)  # one process: one loop to sample
    RESULTS.mkdir(exist_ok=True)
    folded = RESULTS / f"profile-{args.workflow}-{args.callers}-{time.strftime('%H%M%S')}.txt"
    server = system.roots[0]
    mode = ["--native", "--threads"] if args.native else ["--gil"]
    record = ["record", "--pid", str(server), "--duration", str(args.seconds), "--rate", "200"]
    sampler: list[subprocess.Popen[bytes]] = []
    threads_before: dict[int, float] = {}

    def sample() -> None:  # as wrk's measured part begins (after its warm-up)
        threads_before.update(thread_cpu(server))
        command = [py_spy, *record, *mode, "--format", "raw", "--output", str(folded)]
        sampler.append(subprocess.Popen(command, stdout=subprocess.DEVNULL))

    try:
        # The workflow's own body (a malformed one would profile the error path instead).
        figures = run_round(
            system.url(args.workflow),
            system.pids(),
            system.sql_dir,
            args.callers,
            args.seconds,
            warmup=2,
            body=workflows.BODIES.get(args.workflow),
            started=sample,
        )
        threads_after = thread_cpu(server)
        sampler[0].wait()
        thread_names = python_thread_names(py_spy, server)
    finally:
        system.stop()
        if postgres:
            postgres.stop()
        sink.stop()
    print(f"folded stacks: {folded}")
    print(
        f"{figures.per_s:.1f} runs/s, {figures.cpu_ms_per_execution:.2f} ms CPU per run "
        f"(server and database), {figures.errors} errors"
    )
    main_thread = threads_after.pop(server, 0) - threads_before.pop(server, 0)
    used = {t: s - threads_before.get(t, 0) for t, s in threads_after.items()}
    others = sum(used.values())
    print(
        f"\nCPU of weft serve while sampled: event-loop thread {main_thread:.1f} s, "
        f"other threads (aiosqlite connections, sandbox I/O) {others:.1f} s"
    )
    by_name: collections.Counter[str] = collections.Counter()
    for thread, seconds in used.items():
        by_name[thread_names.get(thread, "?")] += seconds
    for name, seconds in by_name.most_common(6):
        print(f"  {name}: {seconds:.1f} s")
    summarise(folded)


if __name__ == "__main__":
    main()
