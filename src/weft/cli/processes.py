"""How many processes `weft serve` runs, and what each of them does besides serving.

One process runs the API, a worker, the scheduler and the notification dispatcher together.
With `processes` above 1, uvicorn's supervisor binds the port once and starts that many such
processes on the shared socket (the kernel hands each new connection to one of them); it
restarts a child that dies and stops them all on SIGTERM/SIGINT. Everything they coordinate
through is in the database: claims, leases, schedules (each tick fires once however many
schedulers run) and notification deliveries; sync answers cross processes by NOTIFY on
PostgreSQL and by the fallback read on SQLite; SQLite rate limits are counted in a file they
share. A child whose supervisor vanished (kill -9) stops itself within a second.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from weft.settings import Settings
from weft.store.dialects import dialect_for_url
from weft.tenancy.rate_limits import RateLimiter

SUPERVISOR_ENV = "WEFT_SUPERVISOR_PID"  # set by the supervisor for its children
RATE_FILE = "rate-windows.bin"


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# Past a few processes SQLite's one writer, not the cores, bounds throughput.
SQLITE_MAX_AUTO = 4


def resolve_processes(settings: Settings) -> int:
    """`settings.processes` as a number. `auto`: one per core, at most SQLITE_MAX_AUTO on SQLite,
    whose writes all queue for one file (docs/architecture.md, "The process model")."""
    value = str(settings.processes).strip().lower()
    if value == "auto":
        cores = max(1, available_cores())
        one_writer = dialect_for_url(settings.resolved_database_url).single_writer
        return min(cores, SQLITE_MAX_AUTO) if one_writer else cores
    try:
        count = int(value)
    except ValueError:
        raise ValueError(f"WEFT_PROCESSES must be a number or auto (got {value!r})") from None
    if count < 1:
        raise ValueError(f"WEFT_PROCESSES must be at least 1 (got {count})")
    return count


def fit_to_connections(settings: Settings, count: int) -> tuple[int, str]:
    """`count` processes checked against PostgreSQL's max_connections (SHOW, at start): the
    count to start and a note for the operator. `auto` starts as many as fit; an explicit
    count that does not fit raises ValueError with the one-line reason. SQLite has no limit,
    and a server that cannot be asked now is not held against the start (its processes wait
    for it as after a restart)."""
    if dialect_for_url(settings.resolved_database_url).single_writer:
        return count, ""
    import asyncio

    from weft.store.budget import (
        ConnectionBudget,
        processes_allowed,
        server_slots,
        too_many_processes,
    )
    from weft.store.db import create_engine, is_database_unavailable

    async def read() -> Any:
        engine = create_engine(settings.resolved_database_url, budget=budget)
        try:
            return await server_slots(engine)
        finally:
            await engine.dispose()

    budget = ConnectionBudget(settings.db_connections)
    try:
        slots = asyncio.run(read())
    except Exception as error:
        if not is_database_unavailable(error):
            raise
        return count, "could not read max_connections (database unavailable); not checked"
    auto = str(settings.processes).strip().lower() == "auto"
    allowed = processes_allowed(slots, budget)
    if auto and 1 <= allowed < count:
        note = f"auto: {allowed} of {count} cores' processes fit PostgreSQL's max_connections"
        return allowed, note
    reason = too_many_processes(count if not auto else max(1, allowed), slots, budget)
    if reason:
        raise ValueError(reason)
    return count, ""


def child_app() -> Any:
    """The app of one child process (uvicorn's factory): settings from the environment, the
    supervisor's logging, and a watch that stops the child if its supervisor is gone."""
    from weft.api.deps import app_state
    from weft.app import create_app
    from weft.cli.common import settle_garbage_collector
    from weft.observability.logs import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, as_json=settings.log_format == "json")
    supervisor = os.environ.get(SUPERVISOR_ENV)
    if supervisor:
        watch_supervisor(int(supervisor))
    app = create_app(settings)
    state = app_state(app)
    if not state.db.dialect.counts_rate_windows_in_database:
        # Each process would otherwise count in its own memory: N processes, N times the limit.
        state.rate_limiter = RateLimiter(state.db, shared_file=shared_rate_file(settings))
    settle_garbage_collector()
    return app


def shared_rate_file(settings: Settings) -> Path:
    """Where the processes of a SQLite server count rate-limit hits together."""
    return settings.data_dir / RATE_FILE


def watch_supervisor(supervisor_pid: int, every_s: float = 0.5) -> None:
    """SIGTERM this process (a graceful stop: runs finish or are released) once its parent is no
    longer `supervisor_pid`: a supervisor killed with SIGKILL cannot stop its children itself."""

    def watch() -> None:
        while os.getppid() == supervisor_pid:
            time.sleep(every_s)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="weft-supervisor-watch", daemon=True).start()
