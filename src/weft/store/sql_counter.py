"""Counting SQL statements, transactions and new connections, for the benchmark only.

Off unless `WEFT_SQL_COUNT_DIR` names a directory: then every engine of the process counts
through SQLAlchemy events and a daemon thread writes the totals to `<dir>/<pid>.json` a few
times a second (only when they changed), so `bench/` can read them from outside the process
before and after a round. When off, no listener is attached and the hot path pays nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

ENV_VAR = "WEFT_SQL_COUNT_DIR"
FLUSH_INTERVAL_S = 0.2


class SqlCounter:
    """Totals for one process (all its engines); += on ints is safe enough under the GIL here."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.counts = {"statements": 0, "executemany": 0, "transactions": 0, "connections": 0}
        self.kinds: dict[str, int] = {}  # statements by kind (statement_kind)
        self._written: dict[str, Any] = {}
        threading.Thread(target=self._flush_forever, name="weft-sql-counter", daemon=True).start()

    def attach(self, engine: Engine) -> None:
        """Count what `engine` (a sync engine, or an async engine's `sync_engine`) runs."""
        event.listen(engine, "before_cursor_execute", self._on_statement)
        event.listen(engine, "begin", self._on_begin)
        event.listen(engine, "connect", self._on_connect)

    def _on_statement(
        self, _conn: Any, _cursor: Any, sql: str, _params: Any, _ctx: Any, many: bool
    ) -> None:
        if sql.startswith("BEGIN"):
            return  # SQLite's explicit BEGIN counts as a transaction, as PostgreSQL's implicit
        self.count_statement(sql, many=many)

    def count_statement(self, sql: str, *, many: bool = False) -> None:
        """One statement run (by SQLAlchemy, or on a driver connection directly)."""
        self.counts["statements"] += 1
        kind = statement_kind(sql)
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        if many:
            self.counts["executemany"] += 1

    def count_transaction(self) -> None:
        """One transaction begun."""
        self.counts["transactions"] += 1

    def _on_begin(self, _conn: Any) -> None:
        self.count_transaction()

    def _on_connect(self, _dbapi_connection: Any, _record: Any) -> None:
        self.count_connection()

    def count_connection(self) -> None:
        """One new database connection opened."""
        self.counts["connections"] += 1

    def flush(self) -> None:
        """Write the totals if they changed since the last write (atomically: write, rename)."""
        snapshot: dict[str, Any] = {**self.counts, "kinds": dict(self.kinds)}
        if snapshot == self._written:
            return
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(snapshot))
        temporary.replace(self.path)
        self._written = snapshot

    def _flush_forever(self) -> None:
        while True:
            time.sleep(FLUSH_INTERVAL_S)
            with contextlib.suppress(OSError):  # the bench directory went away
                self.flush()


_counter: SqlCounter | None = None
_lock = threading.Lock()


def attach_if_enabled(engine: Engine) -> None:
    """Count `engine`'s statements when `WEFT_SQL_COUNT_DIR` is set; otherwise do nothing."""
    directory = os.environ.get(ENV_VAR)
    if not directory:
        return
    global _counter
    with _lock:
        if _counter is None:
            Path(directory).mkdir(parents=True, exist_ok=True)
            _counter = SqlCounter(Path(directory) / f"{os.getpid()}.json")
    _counter.attach(engine)


def current() -> SqlCounter | None:
    """This process's counter when counting is on (for statements run outside SQLAlchemy)."""
    return _counter


def read_totals(directory: Path) -> dict[str, int]:
    """The sum of every process's totals written under `directory`."""
    totals: dict[str, int] = {}
    for file in directory.glob("*.json"):
        try:
            counts = json.loads(file.read_text())
        except (OSError, ValueError):
            continue
        for key, value in counts.items():
            if isinstance(value, int):
                totals[key] = totals.get(key, 0) + value
    return totals


def read_kinds(directory: Path) -> dict[str, int]:
    """Statements by kind (`statement_kind`), summed over every process under `directory`."""
    kinds: dict[str, int] = {}
    for file in directory.glob("*.json"):
        try:
            found = json.loads(file.read_text()).get("kinds", {})
        except (OSError, ValueError, AttributeError):
            continue
        for key, value in found.items():
            kinds[key] = kinds.get(key, 0) + int(value)
    return kinds


def statement_kind(sql: str) -> str:
    """`INSERT executions`, `SELECT workflows`...: the verb and the first table named."""
    verb = sql.split(None, 1)[0].upper() if sql.strip() else "?"
    table = _TABLE.search(sql)
    return f"{verb} {table.group(1)}" if table else verb


_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)
