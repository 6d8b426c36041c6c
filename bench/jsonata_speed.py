"""CPU per evaluation of realistic JSONata mappings, per engine (issue #23's "expression-heavy").

The payload is 50 order records (customer, status, amount, items, tags, dates); the mappings
filter, sort, map and use string functions over it, as one transform step of a workflow would.
Each engine compiles every mapping once, checks that its results equal jsonata-python's
(numbers as numbers), then evaluates all the mappings ROUNDS x --repeat times; the figure is CPU
per evaluation of one mapping (this process's CPU plus that of any helper process it started,
read from /proc), the median of the rounds.

Run (each engine from a venv where it is installed; see BENCHMARKS.md):
    python bench/jsonata_speed.py --engine jlens [--repeat 200] [--jsonata-js jsonata.js]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROUNDS = 5
TICKS_PER_S = os.sysconf("SC_CLK_TCK")

MAPPINGS = {
    "filter+map": 'trigger.orders[status = "paid" and amount > 100]'
    '.{"id": id, "who": customer.name}',
    "sort": "$sort(trigger.orders, function($a, $b) { $a.amount < $b.amount }).id",
    "strings": "trigger.orders.($uppercase($substring(customer.name, 0, 1)) & $lowercase("
    '$substring(customer.name, 1)) & " <" & $trim(customer.email) & ">")',
    "aggregate": '{"paid": $sum(trigger.orders[status = "paid"].amount), "count": '
    '$count(trigger.orders), "avg": $round($average(trigger.orders.amount), 2)}',
    "group": "trigger.orders{status: $count(id)}",
    "items": '$join(trigger.orders.items[qty > 1].(sku & "x" & $string(qty)), ", ")',
    "tags": '$distinct(trigger.orders.tags)[$contains($, "vip")] ~> $sort()',
    "build": 'trigger.orders[[0..9]].{"order": id, "total": $formatNumber(amount, "#,##0.00"), '
    '"lines": $count(items), "first": items[0].sku, "city": $split(customer.address, ", ")[1]}',
}


def payload() -> dict[str, Any]:
    """The context: {trigger: {orders: [50 records]}}, the same on every run."""
    statuses = ["paid", "pending", "refunded", "paid", "failed"]
    orders = []
    for n in range(50):
        orders.append(
            {
                "id": f"ord_{n:04d}",
                "status": statuses[n % len(statuses)],
                "amount": round(19.5 + (n * 37) % 400 + n / 7, 2),
                "currency": "EUR",
                "created": f"2026-11-{1 + n % 28:02d}T{n % 24:02d}:15:00Z",
                "customer": {
                    "name": ["ada lovelace", "grace hopper", "alan turing", "edsger dijkstra"][
                        n % 4
                    ],
                    "email": f"  customer{n}@example.com ",
                    "address": f"{n} Main Street, {['Berlin', 'Lyon', 'Porto'][n % 3]}, EU",
                },
                "items": [
                    {"sku": f"SKU-{n}-{k}", "qty": 1 + (n + k) % 3, "price": 5 + k}
                    for k in range(3)
                ],
                "tags": ["vip" if n % 6 == 0 else "regular", f"region-{n % 4}"],
            }
        )
    return {"trigger": {"orders": orders}, "nodes": {}}


def children_cpu_s() -> float:
    """CPU of this process's child processes still running (helper processes), from /proc."""
    total = 0.0
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for pid in children:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / TICKS_PER_S
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", required=True)
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--jsonata-js", default=os.environ.get("JSONATA_JS", ""))
    parser.add_argument("--reference", help="write (or, if it exists, check) results here")
    arguments = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from jsonata_conformance import plain, same
    from jsonata_engines import ENGINES

    factory = ENGINES[arguments.engine]
    engine = factory(arguments.jsonata_js) if arguments.engine == "jsonata-js" else factory()
    context = payload()
    from jsonata_engines import EngineError

    compiled, results, failed = {}, {}, []
    for name, source in MAPPINGS.items():
        try:
            compiled[name] = engine(source)
            results[name] = plain(compiled[name](context, {}, None))
        except EngineError as error:
            compiled.pop(name, None)
            failed.append(f"{name} ({error.code or error})")
    if failed:
        print(f"left out the mappings the engine fails: {', '.join(failed)}")
    if arguments.reference:
        path = Path(arguments.reference)
        if path.exists():
            expected = json.loads(path.read_text())
            wrong = [name for name in results if not same(expected[name], results[name])]
            if wrong:
                print(f"results differ from the reference: {wrong}")
        else:
            path.write_text(json.dumps(results, indent=1))
    per_eval_us = []
    for _round in range(ROUNDS):
        cpu = time.process_time() + children_cpu_s()
        for _ in range(arguments.repeat):
            for run in compiled.values():
                run(context, {}, None)
        used = time.process_time() + children_cpu_s() - cpu
        per_eval_us.append(used / (arguments.repeat * len(compiled)) * 1e6)
    load = os.getloadavg()
    print(
        f"{arguments.engine}: {statistics.median(per_eval_us):.1f} µs CPU per evaluation "
        f"(median of {ROUNDS} rounds of {arguments.repeat} x {len(compiled)} mappings; "
        f"rounds {min(per_eval_us):.1f}-{max(per_eval_us):.1f}); "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


if __name__ == "__main__":
    main()
