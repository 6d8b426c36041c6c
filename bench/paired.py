"""Two Weft trees side by side at the same moment: is a change cheaper, on a noisy machine?

    .venv/bin/python bench/paired.py --before /tmp/wt-old/src [--db sqlite|postgres]
        [--workflow five-step] [--callers 16] [--seconds 15] [--rounds 3]

`--before` is the `src` folder of another checkout (e.g. `git worktree add /tmp/wt-old <rev>`):
its `weft serve` runs with that folder first on PYTHONPATH, the other on this tree. Both serve at
once, each driven by its own wrk with `--callers`, so the machine's speed, which drifts two to
five times over an evening on a shared VM, is the same for both; sequential rounds compare a
fast minute against a slow one. Prints each round's CPU per execution of both and their ratio
(after / before), then the median ratio. On PostgreSQL both use one server (two databases) and
only Weft's processes are counted: PostgreSQL's backends belong to neither tree.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import systems
from measure import WRK_SCRIPT, _wrk, settle, tree_cpu_s

import workflows


def _start(name: str, before: str | None, sink: systems.Sink, pg: systems.Postgres | None):
    saved = os.environ.get("PYTHONPATH")
    if before:
        os.environ["PYTHONPATH"] = before
    try:
        url = pg.database(name.replace("-", "_")) if pg else None
        return systems.start_weft(name, sink.url, url, [])
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True, help="src folder of the tree to compare with")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workflow", default="five-step")
    parser.add_argument("--callers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not Path(args.before, "weft").is_dir():
        parser.error(f"--before {args.before}: no weft package there")

    body = workflows.BODIES.get(args.workflow, {})
    tail = "".join(f", {json.dumps(k)}: {json.dumps(v)}" for k, v in body.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(WRK_SCRIPT.replace("BODY_TAIL", tail))
        script = Path(handle.name)
    sink = systems.Sink()
    pg = systems.Postgres() if args.db == "postgres" else None
    started = []
    try:
        started.append(_start("weft-before", args.before, sink, pg))
        started.append(_start("weft-after", None, sink, pg))
        ratios = []
        for number in range(1, args.rounds + 1):
            for system in started:  # warm both, then measure both at once
                _wrk(system.url(args.workflow), args.callers, 3, script)
            for system in started:
                settle(system.roots)
            cpu = [tree_cpu_s(s.roots) for s in started]
            with ThreadPoolExecutor(2) as pool:
                urls = [s.url(args.workflow) for s in started]
                figures = list(
                    pool.map(lambda u: _wrk(u, args.callers, args.seconds, script), urls)
                )
            spent = [tree_cpu_s(s.roots) - c for s, c in zip(started, cpu, strict=True)]
            per_run = [
                1000 * s / max(1, f["requests"]) for s, f in zip(spent, figures, strict=True)
            ]
            errors = [f["status"] + f["timeout"] + f["connect"] for f in figures]
            ratios.append(per_run[1] / per_run[0])
            print(
                f"round {number}: before {per_run[0]:.2f} ms/exec ({figures[0]['requests']} runs,"
                f" {errors[0]} errors), after {per_run[1]:.2f} ms/exec"
                f" ({figures[1]['requests']} runs, {errors[1]} errors): {ratios[-1]:.3f}",
                flush=True,
            )
        print(f"median after/before: {statistics.median(ratios):.3f}")
    finally:
        for system in started:
            system.stop()
        sink.stop()
        if pg:
            pg.stop()
        script.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
