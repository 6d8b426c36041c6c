"""Fork server for `cli_forks`: imports Weft once, forks each `weft <command>`.

Without arguments (`cli_forks.run_weft`): reads one JSON order per line on stdin (`{"args":
[...], "env": {...}, "cwd": path, "stdin": path, "stdout": path, "stderr": path}`), forks a
child that runs the command as `python -m weft` would, answers the child's pid, waits for it,
then answers its exit code (negative: the signal that ended it). One command at a time.

With `--listen PATH` (`cli_forks.ForkedWeft`): accepts connections on a Unix socket, each an
order (`args`, `env`, `cwd`) with the caller's standard streams passed along, and forks a child
per order, so commands run side by side (a server and the commands that call it). The child
answers its pid, runs the command on the caller's streams, then answers its exit code.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys

# Everything a command imports, so each child starts at once.
import asyncpg  # noqa: F401
import sqlalchemy.dialects.postgresql.asyncpg  # noqa: F401

import weft.app
import weft.cli
import weft.cli.commands
import weft.clock
import weft.engine.workers.host  # what `weft worker` and `weft serve` run


def run_command(order: dict, streams: list[int], told: socket.socket | None = None) -> None:
    """In the forked child: become `weft <args>` on `streams` (stdin, stdout, stderr), in the
    order's directory and environment, and exit with its code (also sent to `told`)."""
    for fd, stream in enumerate(streams):
        os.dup2(stream, fd)
        os.close(stream)
    os.chdir(order["cwd"])
    os.environ.clear()
    os.environ.update(order["env"])
    weft.clock.read_offset_variable()  # read at import, before this environment was set
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # a command waits for its own children
    code = 1
    try:
        if told is not None:
            told.sendall(f"{os.getpid()}\n".encode())
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
        if told is not None:
            with contextlib.suppress(OSError):  # the caller is gone
                told.sendall(f"{code}\n".encode())
        os._exit(code)


def _opened(order: dict) -> list[int]:
    return [
        os.open(order["stdin"], os.O_RDONLY),
        os.open(order["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        os.open(order["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
    ]


def listen(path: str) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps finished commands
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path + ".binding")
    os.rename(path + ".binding", path)  # the path exists once it accepts
    server.listen(64)
    while True:
        conn, _ = server.accept()
        data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
        while not data.endswith(b"\n"):
            more = conn.recv(1 << 16)
            if not more:
                break
            data += more
        if len(fds) == 3 and data.endswith(b"\n") and os.fork() == 0:
            server.close()
            run_command(json.loads(data), fds, told=conn)
        for fd in fds:
            os.close(fd)
        conn.close()


def main() -> None:
    if sys.argv[1:2] == ["--listen"]:
        listen(sys.argv[2])
        return
    for line in sys.stdin:
        order = json.loads(line)
        pid = os.fork()
        if pid == 0:
            run_command(order, _opened(order))
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(f"{os.waitstatus_to_exitcode(status)}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
