"""Fork server for `worker_processes.WorkerForks`: imports Weft once, forks `weft worker`s (or
`weft api`s).

Reads one JSON order per line on stdin (`{"log": path, "env": {...}, "args": ["worker"]}`),
forks a child that runs `weft <args>` with that environment and its output in that log file,
and answers its pid.
"""

from __future__ import annotations

import json
import os
import signal
import sys

from cli_fork_server import run_command  # imports all a worker needs, once


def run_worker(order: dict) -> None:
    """In the forked child: `weft <args>` with the order's environment, its output appended to
    the order's log file."""
    log = os.open(order["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    devnull = os.open(os.devnull, os.O_RDONLY)
    order = {"args": order.get("args", ["worker"]), "env": order["env"], "cwd": os.getcwd()}
    run_command(order, [devnull, log, os.dup(log)])


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
