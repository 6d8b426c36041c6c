"""Real HTTP servers on 127.0.0.1 standing in for the outside services the tests need.

`RecordingServer` is the one server: it serves on its own threads, records every request and
asks `respond` for the answer. The test servers (engine/sink.py, apps/fake_api.py,
notifications/notification_sink.py, e2e/e2e_servers.py) are small subclasses that only decide
what to answer and what to remember.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    """One request as it arrived: method, raw target (path and query), headers, raw body."""

    method: str
    target: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float = field(default_factory=time.time)

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.target).query).items()}

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A caller killed mid-request (the crash and fault tests) leaves a broken pipe here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class RecordingServer:
    """Serves every method on 127.0.0.1 (or `address`), records each request, answers what
    `respond` returns."""

    content_type = "application/json"

    def __init__(self, address: str = "127.0.0.1") -> None:
        self.received: list[Request] = []
        self.lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass  # the tests read what was recorded, not stderr

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = Request(self.command, self.path, headers, body)
                with recorder.lock:
                    recorder.received.append(request)
                    recorder.record(request)
                status, answer, *more = recorder.respond(request)
                raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", recorder.content_type)
                for name, value in (more[0] if more else {}).items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.server = _QuietServer((address, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{address}:{self.server.server_address[1]}"
        # close() waits for the serving loop to look at its stop flag, once per poll interval
        # (0.5 s by default, paid by every test's teardown).
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def record(self, request: Request) -> None:
        """Remember more of `request` than `received` does (called under `lock`)."""

    def respond(self, request: Request) -> tuple[Any, ...]:
        """The status and body (JSON-able, or bytes of `content_type`) to answer `request` with,
        and optionally a dict of headers to add."""
        return 200, {"ok": True}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
