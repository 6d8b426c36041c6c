"""`weft` for a shell session under test: runs the command in a process forked by
`cli_fork_server.py --listen` (Weft imported already) on this process's standard streams.

Standard library only, so it starts in milliseconds. SIGTERM, SIGINT and SIGHUP are passed on
to the command, and this process exits with the command's code (1 if it died without one).
Usage: `python weft_shim.py SOCKET ARGS...`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys


def main() -> int:
    path, args = sys.argv[1], sys.argv[2:]
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    order = {"args": args, "env": dict(os.environ), "cwd": os.getcwd()}
    socket.send_fds(conn, [json.dumps(order).encode() + b"\n"], [0, 1, 2])
    answers = conn.makefile("rb")
    pid = int(answers.readline())
    for forwarded in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(forwarded, lambda number, _frame: os.kill(pid, number))
    code = answers.readline()
    return int(code) if code.strip() else 1


if __name__ == "__main__":
    sys.exit(main())
