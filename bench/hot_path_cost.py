"""CPU of three pieces of a run's hot path, each alone on one thread (time.thread_time, median):

- the SQLite group commit (`fenced_sqlite.apply_fenced`) on a file database (WAL, as the
  server's, less foreign keys): a batch of direct
  runs' first commits (row inserted with its steps), then a batch of their ends (fenced update
  with steps), in the five-step shape (3 runs a batch, 4 + 2 steps) and the loop shape (8 runs,
  1 + 21 steps);
- a render on the event loop (`offload.render_off_loop`) of the loop pass's body and of the
  five-step's transform and respond;
- PostgreSQL's batch document of 24 step rows (`raw_postgres.RecordRows.document`).

    PYTHONPATH=src .venv/bin/python bench/hot_path_cost.py

Compare two trees by running it with each tree's `src` on PYTHONPATH, alternately: these are
CPU figures of single-threaded loops, so a loaded machine moves them little (unlike runs/s).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.dialects import postgresql

from weft.clock import now
from weft.engine.runs import queue, states
from weft.engine.runs.queue import FencedWrite
from weft.engine.writes.fenced_sqlite import apply_fenced
from weft.expressions.evaluator import Limits
from weft.expressions.offload import render_off_loop
from weft.ids import new_id
from weft.store import db as store_db
from weft.store.json_codec import dump_json, load_json
from weft.store.raw_postgres import RecordRows
from weft.store.tables import Base, Step

REPEATS = 7


class Node:
    def __init__(self, index: int) -> None:
        self.id, self.type, self.name = f"n{index}", "transform", f"Step {index}"


def _median_us(work: Callable[[], Any], times: int) -> float:
    spent = []
    for _ in range(REPEATS):
        began = time.thread_time()
        for _ in range(times):
            work()
        spent.append((time.thread_time() - began) / times * 1e6)
    return statistics.median(spent)


def _run_row() -> dict[str, Any]:
    moment = now()
    body = {"body": {"n": 1}, "headers": {"content-type": "application/json"}, "query": {}}
    return dict(
        id=new_id(),
        org_id=new_id(),
        environment="live",
        linked_account_pk=new_id(),
        workflow_id=new_id(),
        version=1,
        test_graph=None,
        is_test=False,
        trigger="webhook",
        input={**body, "method": "POST"},
        status=states.RUNNING,
        idempotency_key=None,
        request_hash=None,
        parent_execution_id=None,
        config_id=None,
        config=None,
        due_at=moment + timedelta(seconds=30),
        attempt=1,
        created_at=moment,
        updated_at=moment,
        output=None,
        response=None,
        error=None,
        lease_owner="w1",
        started_at=moment,
        finished_at=None,
    )


def _steps(run_id: str, count: int, iteration: str = "") -> list[dict[str, Any]]:
    return [
        queue.new_step_row(
            execution_id=run_id,
            node=Node(i),
            iteration=f"{iteration}{i}" if iteration else "",
            status="succeeded",
            started_at=now(),
            input={"n": i, "double": 2 * i},
            output={"n": i, "ok": True},
        )
        for i in range(count)
    ]


def sqlite_batches(runs: int, first_steps: int, end_steps: int) -> tuple[float, float]:
    """Median thread CPU (µs) of a batch of first commits and of a batch of ends."""
    path = Path(tempfile.mkdtemp(prefix="weft-hot-")) / "weft.db"
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"isolation_level": None},
        json_serializer=dump_json,
        json_deserializer=load_json,
    )
    event.listen(engine, "connect", store_db._set_sqlite_pragmas(30000))
    # No org, account or workflow rows are seeded: their foreign-key lookups, the same in any
    # tree, are left out.
    event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA foreign_keys=OFF"))
    event.listen(engine, "begin", store_db._begin)
    Base.metadata.create_all(engine)
    firsts, ends = [], []
    with engine.connect() as connection:
        for round_number in range(300):
            rows = [_run_row() for _ in range(runs)]
            first = [
                FencedWrite(
                    row["id"],
                    "w1",
                    1,
                    {"due_at": now(), "updated_at": now()},
                    _steps(row["id"], first_steps),
                    insert=row,
                )
                for row in rows
            ]
            end_values = {"status": states.SUCCEEDED, "output": {"score": 7}, "due_at": None}
            end = [
                FencedWrite(
                    row["id"],
                    "w1",
                    1,
                    {**end_values, "finished_at": now(), "updated_at": now()},
                    _steps(row["id"], end_steps, "x"),
                )
                for row in rows
            ]
            began = time.thread_time()
            with connection.begin():
                assert all(apply_fenced(connection, first))
            middle = time.thread_time()
            with connection.begin():
                assert all(apply_fenced(connection, end))
            if round_number >= 50:  # warm
                firsts.append(middle - began)
                ends.append(time.thread_time() - middle)
    engine.dispose()
    return statistics.median(firsts) * 1e6, statistics.median(ends) * 1e6


CONTEXT = {
    "trigger": {"body": {"n": 7}, "headers": {}, "query": {}},
    "nodes": {"shape": {"n": 7, "double": 14}, "call": {"body": {"score": 7}}},
    "loop": {"item": {"v": 5, "name": "item 5"}, "index": 5},
}
RENDERS = {  # bench/workflows.py's templates
    "loop pass (score, label)": {
        "score": "{{ $round($sqrt(loop.item.v) * 100) }}",
        "label": "{{ $uppercase(loop.item.name) }}",
    },
    "five-step transform": {"n": "{{ trigger.body.n }}", "double": "{{ trigger.body.n * 2 }}"},
    "five-step respond": {"score": "{{ nodes.call.body.score }}", "n": "{{ nodes.shape.n }}"},
}


def render_costs() -> dict[str, float]:
    """Median thread CPU (µs) of one render of each of RENDERS (inline: none needs a thread)."""
    limits = Limits()

    async def renders(value: Any, times: int) -> float:
        for _ in range(200):  # warm (parsed templates and expressions are cached)
            await render_off_loop(value, CONTEXT, limits)
        spent = []
        for _ in range(REPEATS):
            began = time.thread_time()
            for _ in range(times):
                await render_off_loop(value, CONTEXT, limits)
            spent.append((time.thread_time() - began) / times * 1e6)
        return statistics.median(spent)

    return {name: asyncio.run(renders(value, 3000)) for name, value in RENDERS.items()}


def postgres_document_per_row() -> float:
    """Median thread CPU (µs) per step row of a 24-row batch document."""
    steps = RecordRows(Step.__table__, postgresql.asyncpg.dialect())
    rows = [{**step, "ord": i % 8} for i, step in enumerate(_steps("0" * 24, 24, "i"))]
    columns = steps.columns_of(rows[0])
    return _median_us(lambda: steps.document(columns, rows, ("ord",)), 2000) / len(rows)


def main() -> None:
    for label, shape in [("five-step", (3, 4, 2)), ("loop", (8, 1, 21))]:
        first, end = sqlite_batches(*shape)
        runs = shape[0]
        print(
            f"SQLite commit, {label} shape ({runs} runs, {shape[1]} + {shape[2]} steps): "
            f"first commits {first:.0f} µs, ends {end:.0f} µs a batch, "
            f"{(first + end) / runs:.0f} µs a run"
        )
    for name, micros in render_costs().items():
        print(f"render on the event loop, {name}: {micros:.1f} µs")
    print(f"PostgreSQL batch document: {postgres_document_per_row():.2f} µs a step row")


if __name__ == "__main__":
    main()
