"""The outside service workflows call in the engine tests: counts calls, can fail or be slow."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from servers import RecordingServer, Request


class Sink(RecordingServer):
    """Counts calls per path; `/status/<code>` answers that code, `/slow/<ms>` sleeps first."""

    def __init__(self, address: str = "127.0.0.1") -> None:
        self.calls: Counter[str] = Counter()
        self.log: list[tuple[str, float]] = []  # (path, time.time()) of every call
        self.requests: list[tuple[str, bytes, dict[str, str]]] = []  # path, body, headers
        self.bodies: list[Any] = []
        super().__init__(address)

    def record(self, request: Request) -> None:
        self.calls[request.path] += 1
        self.log.append((request.path, request.at))
        self.requests.append((request.path, request.body, request.headers))
        self.bodies.append(request.json())

    def respond(self, request: Request) -> tuple[int, Any]:
        path, status = request.path, 200
        if path.startswith("/status/"):
            status = int(path.rsplit("/", 1)[1])
        if path.startswith("/slow/"):  # /slow/<ms>[/...]: answer after <ms>
            time.sleep(int(path.split("/")[2]) / 1000)
        if path.startswith("/flaky/"):  # /flaky/<n>/<tag>: 503 until called n times
            status = 200 if self.calls[path] >= int(path.split("/")[2]) else 503
        query = request.target.partition("?")[2]
        return status, {"path": path, "query": query, "echo": request.json()}
