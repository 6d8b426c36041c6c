"""A real HTTP server on 127.0.0.1 that receives notifications and records them exactly."""

from __future__ import annotations

from collections import Counter
from typing import Any

from servers import RecordingServer, Request


class NotificationSink(RecordingServer):
    """`/status/<code>` answers that code; `/flaky/<n>/<tag>` answers 500 until the n-th call."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        super().__init__()
        self.requests = self.received

    def record(self, request: Request) -> None:
        self.calls[request.path] += 1

    def respond(self, request: Request) -> tuple[int, Any]:
        path, status = request.path, 200
        if path.startswith("/status/"):
            status = int(path.split("/")[2])
        elif path.startswith("/flaky/"):
            status = 200 if self.calls[path] >= int(path.split("/")[2]) else 500
        return status, {"ok": True} if status < 300 else {"error": "try later"}

    def received_at(self, path: str) -> list[Request]:
        """The requests that came to `path`, in arrival order."""
        with self.lock:
            return [r for r in self.received if r.path == path]
