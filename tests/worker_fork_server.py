"""Fork server for `worker_processes.WorkerForks`: imports Weft once, forks `weft worker`s.

Reads one JSON order per line on stdin (`{"log": path, "env": {...}}`), forks a child that runs
`weft worker` with that environment and its output in that log file, and answers its pid.
"""

from __future__ import annotations

import json
import os
import signal
import sys

# Everything a worker imports, so each child starts at once.
import asyncpg  # noqa: F401
import sqlalchemy.dialects.postgresql.asyncpg  # noqa: F401

import weft.app
import weft.cli.commands
import weft.clock
import weft.engine.workers.host


def run_worker(order: dict) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the worker waits for its own children
    log = os.open(order["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.environ.clear()
    os.environ.update(order["env"])
    weft.clock.read_offset_variable()  # read at import, before this environment was set
    code = 1
    try:
        weft.cli.commands.app(["worker"], prog_name="weft")
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps dead workers
    for line in sys.stdin:
        order = json.loads(line)
        pid = os.fork()
        if pid == 0:
            run_worker(order)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
