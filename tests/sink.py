"""A real HTTP server on 127.0.0.1 standing in for the services workflows call."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A caller killed mid-request (the crash and fault tests) leaves a broken pipe here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Sink:
    """Counts calls per path; `/status/<code>` answers that code, `/slow/<ms>` sleeps first."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.log: list[tuple[str, float]] = []  # (path, time.time()) of every call
        self.requests: list[tuple[str, bytes, dict[str, str]]] = []  # path, body, headers
        self.bodies: list[Any] = []
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                with sink.lock:
                    sink.calls[path] += 1
                    sink.log.append((path, time.time()))
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    sink.requests.append((path, raw, headers))
                    sink.bodies.append(json.loads(raw) if raw else None)
                status = 200
                if path.startswith("/status/"):
                    status = int(path.rsplit("/", 1)[1])
                if path.startswith("/slow/"):  # /slow/<ms>[/...]: answer after <ms>
                    time.sleep(int(path.split("/")[2]) / 1000)
                if path.startswith("/flaky/"):  # /flaky/<n>/<tag>: 503 until called n times
                    status = 200 if sink.calls[path] >= int(path.split("/")[2]) else 503
                payload = json.dumps(
                    {
                        "path": path,
                        "query": self.path.partition("?")[2],
                        "echo": json.loads(raw) if raw else None,
                    }
                ).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
