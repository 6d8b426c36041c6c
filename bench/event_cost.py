"""CPU per run of one workflow started by an event and by an (async) webhook, side by side.

    .venv/bin/python bench/event_cost.py [--runs 500] [--rounds 6] [--only sqlite,postgres]

One `weft serve` process per database and two published workflows that differ only in their
trigger: start -> transform (a JSONata mapping of the payload). Rounds alternate between the
two; each sends `--runs` requests one after another (`POST /event` with a session token, and
`POST` to the webhook's URL) and waits until every run has ended, then reads the CPU the
server's process tree (and PostgreSQL's) used. Prints CPU ms per run, median of the rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import httpx
import systems
from measure import tree_cpu_s

MAPPING = "{{ $sum(trigger.items.(price * qty)) }}"


def _graph(start: dict[str, Any]) -> dict[str, Any]:
    nodes = [
        {"id": "1", "type": "start", "name": "Start", "data": start},
        {"id": "2", "type": "transform", "name": "Total", "data": {"value": {"total": MAPPING}}},
    ]
    return {"nodes": nodes, "edges": [{"source": "1", "target": "2"}]}


def _publish(client: httpx.Client, name: str, graph: dict[str, Any]) -> dict[str, Any]:
    created = client.post("/workflow", json={"name": name}).json()
    workflow = created["workflow"]["associated_workflow"]
    client.put(f"/workflow/{workflow}/draft", json=graph).raise_for_status()
    client.put(f"/workflow/{workflow}/publish", json={"published": True}).raise_for_status()
    return client.get(f"/workflow/{workflow}").json()


def _settled(client: httpx.Client, expected: int) -> None:
    """Wait until `expected` runs have ended, every one of them completed."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        running = client.get("/execution?status=RUNNING&limit=1").json()["totalDocs"]
        completed = client.get("/execution?status=COMPLETED&limit=1").json()
        if not running and completed["totalDocs"] >= min(expected, 1000):
            if completed.get("totalDocsExact", True) and completed["totalDocs"] < expected:
                raise SystemExit(f"{expected - completed['totalDocs']} runs did not complete")
            return
        time.sleep(0.2)
    raise SystemExit("runs did not finish")


def bench(db: str, runs: int, rounds: int) -> dict[str, float]:
    cpu: dict[str, list[float]] = {"event": [], "webhook": []}
    with systems.one_weft(db) as weft:
        headers = {"Authorization": f"Bearer {weft.token}"}
        with httpx.Client(base_url=weft.base + systems.API, headers=headers, timeout=60) as api:
            _publish(api, "by event", _graph({"trigger": "event", "event": "order.placed"}))
            hook = _publish(api, "by webhook", _graph({"trigger": "webhook"}))["webhook_path"]
            payload = {"items": [{"price": 3, "qty": i % 5} for i in range(20)]}
            done = 0
            for number in range(rounds):
                for kind in ("event", "webhook") if number % 2 else ("webhook", "event"):
                    began = tree_cpu_s(weft.roots)
                    for _ in range(runs):
                        if kind == "event":
                            body = {"event": "order.placed", "payload": payload}
                            api.post("/event", json=body).raise_for_status()
                        else:
                            httpx.post(weft.base + hook, json=payload).raise_for_status()
                    done += runs
                    _settled(api, done)
                    cpu[kind].append((tree_cpu_s(weft.roots) - began) / runs * 1000)
    return {kind: statistics.median(values) for kind, values in cpu.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--only", default="sqlite,postgres")
    args = parser.parse_args()
    print("| database | event: CPU ms per run | webhook: CPU ms per run | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for db in args.only.split(","):
        cost = bench(db, args.runs, args.rounds)
        ratio = cost["event"] / cost["webhook"]
        print(f"| {db} | {cost['event']:.2f} | {cost['webhook']:.2f} | {ratio:.2f} |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
