"""`weft <command>` as the tests call it, forked from a process that imported Weft once.

A cold `python -m weft` costs 2-4 s of CPU before the command starts (importing Weft), which
the CLI tests paid for every call, on both databases. Both helpers run the same command line in
a real process of its own (its own directory, environment, standard streams and exit code),
forked by `cli_fork_server.py`:
- `run_weft`, as `subprocess.run` with its output captured (one fork server per test process,
  started at the first call);
- `ForkedWeft`, a `weft` executable for shell sessions (tests/docs): each call, a server among
  them, is forked at once by a fork server of its own.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

_server: subprocess.Popen[bytes] | None = None
_unread = b""  # what the server said past the last line read


def _fork_server() -> subprocess.Popen[bytes]:
    global _server, _unread
    if _server is None or _server.poll() is not None:
        _server = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("cli_fork_server.py"))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        _unread = b""
        atexit.register(_server.kill)
    return _server


def _answer(server: subprocess.Popen[bytes], timeout_s: float | None) -> int:
    """The server's next line, read from its pipe unbuffered (so `select` sees what is left)."""
    global _unread
    assert server.stdout is not None
    fd = server.stdout.fileno()
    while b"\n" not in _unread:
        ready, _, _ = select.select([fd], [], [], timeout_s)
        if not ready:
            raise TimeoutError
        chunk = os.read(fd, 4096)
        if not chunk:
            raise RuntimeError("the CLI fork server has exited")
        _unread += chunk
    line, _unread = _unread.split(b"\n", 1)
    return int(line)


def run_weft(
    args: list[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`python -m weft *args` with `env`, its output captured as text, as `subprocess.run`."""
    server = _fork_server()
    assert server.stdin is not None
    with tempfile.TemporaryDirectory(prefix="weft-cli-") as files:
        streams = {name: os.path.join(files, name) for name in ("stdin", "stdout", "stderr")}
        Path(streams["stdin"]).touch()  # no input: as the CLI tests run it
        order = {"args": list(args), "env": dict(env), "cwd": str(cwd or os.getcwd()), **streams}
        server.stdin.write(json.dumps(order).encode() + b"\n")
        server.stdin.flush()
        pid = _answer(server, None)
        try:
            code = _answer(server, timeout)
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            _answer(server, None)
            raise subprocess.TimeoutExpired(["weft", *args], timeout) from None
        return subprocess.CompletedProcess(
            ["weft", *args],
            code,
            Path(streams["stdout"]).read_text(),
            Path(streams["stderr"]).read_text(),
        )


class ForkedWeft:
    """A fork server for shell sessions: `install` writes a `weft` executable whose every call,
    a server among them, is forked at once, side by side with the others."""

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="weft-forks-")
        self.socket = os.path.join(self._directory.name, "forks.sock")  # short: a path limit
        server = Path(__file__).with_name("cli_fork_server.py")
        self._server = subprocess.Popen(
            [sys.executable, str(server), "--listen", self.socket], stdin=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 120  # importing Weft on a busy machine
        while not os.path.exists(self.socket):
            assert self._server.poll() is None, "the fork server exited"
            assert time.monotonic() < deadline, "the fork server did not start"
            time.sleep(0.02)

    def install(self, executable: Path) -> None:
        shim = Path(__file__).with_name("weft_shim.py")
        executable.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{shim}" "{self.socket}" "$@"\n')
        executable.chmod(0o755)

    def close(self) -> None:
        self._server.kill()
        self._server.wait()
        self._directory.cleanup()
