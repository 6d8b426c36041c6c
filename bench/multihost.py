"""The scale curve across hosts: runs/s by Weft process count on one PostgreSQL, behind nginx.

    .venv/bin/python bench/multihost.py [--seconds 10] [--callers 32] [--workflow five-step]
        [--only combined-1,split-2] [--netns]

Each layout is a fresh database on one embedded PostgreSQL and one or two hosts
(tests/hosts.py: a process group, data dir and port each) behind Debian's nginx, round-robin:

- combined-N: N `weft serve` processes (API and worker in each), on min(N, 2) hosts;
- split-N: N/2 hosts, each one `weft api` beside one `weft worker`.

With `--netns` (root) each host has a network namespace of its own, joined to nginx, the sink
and PostgreSQL's socket over a bridge (tests/hosts.py `Network`); without, the hosts share the
loopback network on ports of their own.

wrk drives the workflow's sync webhook through nginx (each answer is one finished run), as
bench/run.py does. PostgreSQL's CPU is the postmaster's and its backends' user + system time
from /proc over the measured round (bench/measure.py). Prints a markdown table with the load
average before and after each round: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

import systems
from measure import Round, run_round

from hosts import Host, Network, start_balancer, start_host
from worker_processes import stop

LAYOUTS = ("combined-1", "combined-2", "combined-4", "split-2", "split-4")
# The bench's settings, not the tests' fast leases and polls (tests/worker_processes.py).
HOST_ENV = {**systems.WEFT_BENCH_ENV, "WEFT_LEASE_S": "30", "WEFT_POLL_S": "0.5"}


@dataclass
class Figures:
    layout: str
    processes: int
    hosts: int
    round: Round
    load_before: float
    load_after: float

    @property
    def database_cores(self) -> float:
        return self.round.cpu_s / self.round.seconds if self.round.seconds else 0.0


def start_layout(
    layout: str, db_url: str, folder: Path, network: Network | None, sink: systems.Sink
) -> list[Host]:
    """The hosts of `layout` (`combined-N` or `split-N`), started and serving."""
    form, _, count = layout.partition("-")
    processes = int(count)
    env = {**HOST_ENV, "WEFT_OUTBOUND_ALLOW": sink.url.split("/")[2].split(":")[0]}
    hosts: list[Host] = []
    try:
        if form == "combined":
            n_hosts = min(processes, 2)
            for n in range(n_hosts):
                per_host = processes // n_hosts
                hosts.append(
                    start_host(
                        f"host{n}", db_url, folder, processes=per_host, network=network, **env
                    )
                )
        else:
            for n in range(processes // 2):
                hosts.append(
                    start_host(f"host{n}", db_url, folder, split=True, network=network, **env)
                )
    except BaseException:
        for host in hosts:
            host.stop()
        raise
    return hosts


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def measure_layout(
    layout: str,
    postgres: systems.Postgres,
    sink: systems.Sink,
    network: Network | None,
    args: argparse.Namespace,
) -> Figures:
    db_url = postgres.database(f"weft_{layout.replace('-', '_')}")
    folder = Path(tempfile.mkdtemp(prefix=f"weft-multihost-{layout}-"))
    token = systems.migrate_and_sign_in({**os.environ, **HOST_ENV, "WEFT_DATABASE_URL": db_url})
    hosts = start_layout(layout, db_url, folder, network, sink)
    proxy, base = start_balancer(folder / "nginx", hosts)
    try:
        urls = systems.publish_workflows(base, token, sink.url)
        load_before = load_average()
        measured = run_round(
            urls[args.workflow],
            [postgres.postmaster_pid()],
            None,
            args.callers,
            args.seconds,
            args.warmup,
        )
        processes = int(layout.rpartition("-")[2])
        return Figures(layout, processes, len(hosts), measured, load_before, load_average())
    finally:
        stop(proxy)
        for host in hosts:
            host.stop()
        shutil.rmtree(folder, ignore_errors=True)


def table(rows: list[Figures]) -> str:
    lines = [
        "| layout | Weft processes | hosts | runs/s | p50 ms | p99 ms | errors "
        "| PostgreSQL CPU ms/run | PostgreSQL CPU (cores) | load avg before → after |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        r = row.round
        lines.append(
            f"| {row.layout} | {row.processes} | {row.hosts} | {r.per_s:.1f} | {r.p50_ms:.1f} "
            f"| {r.p99_ms:.1f} | {r.errors} | {r.cpu_ms_per_execution:.2f} "
            f"| {row.database_cores:.2f} | {row.load_before:.1f} → {row.load_after:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(LAYOUTS))
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--callers", type=int, default=32)
    parser.add_argument("--workflow", default="five-step", choices=("five-step", "trivial"))
    parser.add_argument("--netns", action="store_true", help="a network namespace per host")
    args = parser.parse_args()
    network = Network() if args.netns else None
    sink = systems.Sink(network.gateway if network else "127.0.0.1")
    postgres = systems.Postgres()
    rows = []
    try:
        for layout in args.only.split(","):
            print(f"measuring {layout} ...", file=sys.stderr, flush=True)
            rows.append(measure_layout(layout, postgres, sink, network, args))
            print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    finally:
        postgres.stop()
        sink.stop()
        if network:
            network.close()
    hosts = "a network namespace per host" if network else "hosts on the loopback network"
    print(f"\n{args.workflow}, {args.callers} callers, {args.seconds:.0f} s rounds, {hosts}\n")
    print(table(rows))


if __name__ == "__main__":
    main()
