"""One round: wrk against one URL, with CPU and SQL counters read before and after.

CPU is user + system time from /proc/<pid>/stat of every process in the measured trees (the
server, its code-node and task-runner children, PostgreSQL's backends), including children
that exited meanwhile (cutime/cstime). Statements come from Weft's counter files.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from weft.store.sql_counter import read_kinds, read_totals

TICKS_PER_S = os.sysconf("SC_CLK_TCK")

# wrk's Lua hooks: every request a POST with a fresh `n`; at the end, one JSON line of figures.
WRK_SCRIPT = r"""
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, '{"n": ' .. counter .. [==[BODY_TAIL]==] .. '}')
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "connect": %d, ' ..
    '"read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def _cpu_ticks(pid: int) -> int:
    """utime + stime + cutime + cstime of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    # After the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    return sum(int(value) for value in fields[11:15])


def tree_cpu_s(roots: list[int]) -> float:
    """CPU seconds used so far by `roots` and all their live descendants (and reaped children)."""
    tree = _children()
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        stack.extend(tree.get(pid, []))
    return sum(_cpu_ticks(pid) for pid in seen) / TICKS_PER_S


@dataclass
class Round:
    """Figures of one wrk run (`requests`: answered with a 2xx; `errors`: all the others)."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_s: float
    statements: int | None
    transactions: int | None
    connections: int | None
    kinds: dict[str, int] | None = None  # statements by kind (weft.store.sql_counter)

    @property
    def per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_execution(self) -> float:
        return 1000 * self.cpu_s / self.requests if self.requests else float("nan")


def _wrk(url: str, callers: int, seconds: float, script: Path) -> dict[str, int]:
    threads = max(1, min(callers, 2))
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{callers}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    found = re.search(r"WRKJSON (\{.*\})", done.stdout)
    if not found:
        raise RuntimeError(f"wrk printed no figures:\n{done.stdout}\n{done.stderr}")
    return json.loads(found.group(1))


def settle(roots: list[int], quiet_cpu_s: float = 0.05, limit_s: float = 30.0) -> None:
    """Wait until the process trees use under 10 % of a core (0.05 s per 0.5 s), at most limit_s."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = tree_cpu_s(roots)
        time.sleep(0.5)
        if tree_cpu_s(roots) - before < quiet_cpu_s:
            return


def _sql(directory: Path | None) -> dict[str, int] | None:
    return None if directory is None else read_totals(directory)


def run_round(
    url: str,
    roots: list[int],
    sql_dir: Path | None,
    callers: int,
    seconds: float,
    warmup: float,
    body: dict[str, Any] | None = None,
    started: Callable[[], None] | None = None,
) -> Round:
    """Warm up, then measure `callers` concurrent callers for `seconds`; each request's body is
    `{"n": <counter>}` plus `body`'s fields. `started` is called as the measured part begins."""
    tail = "".join(f", {json.dumps(k)}: {json.dumps(v)}" for k, v in (body or {}).items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(WRK_SCRIPT.replace("BODY_TAIL", tail))
        script = Path(handle.name)
    try:
        if warmup:
            _wrk(url, callers, warmup, script)
        # Runs the warm-up's callers abandoned still finish: wait for quiet, so their CPU is not
        # charged to the measured round (and the counters have flushed).
        settle(roots)
        cpu_before, sql_before = tree_cpu_s(roots), _sql(sql_dir)
        kinds_before = read_kinds(sql_dir) if sql_dir else None
        if started is not None:
            started()
        figures = _wrk(url, callers, seconds, script)
        time.sleep(0.5)
        cpu_after, sql_after = tree_cpu_s(roots), _sql(sql_dir)
        kinds_after = read_kinds(sql_dir) if sql_dir else None
    finally:
        script.unlink(missing_ok=True)
    errors = sum(figures[k] for k in ("connect", "read", "write", "status", "timeout"))
    answered = figures["requests"] - figures["status"]  # wrk counts non-2xx answers as requests

    def delta(key: str) -> int | None:
        if sql_before is None or sql_after is None:
            return None
        return sql_after.get(key, 0) - sql_before.get(key, 0)

    return Round(
        requests=answered,
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        errors=errors,
        cpu_s=cpu_after - cpu_before,
        statements=delta("statements"),
        transactions=delta("transactions"),
        connections=delta("connections"),
        kinds=None
        if kinds_before is None or kinds_after is None
        else {
            k: v - kinds_before.get(k, 0)
            for k, v in kinds_after.items()
            if v > kinds_before.get(k, 0)
        },
    )
