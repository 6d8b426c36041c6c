"""Fork server for `cli_forks.run_weft`: imports Weft once, forks each `weft <command>`.

Reads one JSON order per line on stdin (`{"args": [...], "env": {...}, "cwd": path, "stdin":
path, "stdout": path, "stderr": path}`), forks a child that runs the command as `python -m
weft` would, answers the child's pid, waits for it, then answers its exit code (negative: the
signal that ended it). One command at a time: the tests that use it call the CLI in turn.
"""

from __future__ import annotations

import json
import os
import sys

# Everything a command imports, so each child starts at once.
import asyncpg  # noqa: F401
import sqlalchemy.dialects.postgresql.asyncpg  # noqa: F401

import weft.app
import weft.cli
import weft.cli.commands
import weft.clock


def run_command(order: dict) -> None:
    """In the forked child: become `weft <args>` with the order's files, directory and
    environment, and exit with its code."""
    for fd, path, flags in (
        (0, order["stdin"], os.O_RDONLY),
        (1, order["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        (2, order["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
    ):
        opened = os.open(path, flags, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    os.chdir(order["cwd"])
    os.environ.clear()
    os.environ.update(order["env"])
    weft.clock.read_offset_variable()  # read at import, before this environment was set
    code = 1
    try:
        weft.cli.app(order["args"], prog_name="weft")
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # an uncaught error: printed as the interpreter would, exit code 1
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    for line in sys.stdin:
        order = json.loads(line)
        pid = os.fork()
        if pid == 0:
            run_command(order)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(f"{os.waitstatus_to_exitcode(status)}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
