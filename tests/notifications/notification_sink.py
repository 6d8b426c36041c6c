"""A real HTTP server on 127.0.0.1 that receives notifications and records them exactly."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One request as it arrived: path, headers (lower-case names) and the raw body."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class NotificationSink:
    """`/status/<code>` answers that code; `/flaky/<n>/<tag>` answers 500 until the n-th call."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                with sink.lock:
                    sink.calls[path] += 1
                    count = sink.calls[path]
                    sink.requests.append(
                        Received(path, {k.lower(): v for k, v in self.headers.items()}, raw)
                    )
                status = 200
                if path.startswith("/status/"):
                    status = int(path.split("/")[2])
                elif path.startswith("/flaky/"):
                    status = 200 if count >= int(path.split("/")[2]) else 500
                reply = b'{"ok": true}' if status < 300 else b'{"error": "try later"}'
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def received(self, path: str) -> list[Received]:
        """The requests that came to `path`, in arrival order."""
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
