"""A billing API on 127.0.0.1 for chains of dependent writes: one creates, the next uses its id."""

from __future__ import annotations

import itertools
from typing import Any

from servers import RecordingServer, Request


class Billing(RecordingServer):
    """POST …/customers answers a new customer id (`cus_1`, `cus_2`, …); others echo the body."""

    def __init__(self) -> None:
        self.ids = itertools.count(1)
        super().__init__()

    def respond(self, request: Request) -> tuple[int, Any]:
        if request.path.endswith("/customers"):
            return 200, {"id": f"cus_{next(self.ids)}"}
        return 200, {"subscribed": request.json()}

    def posts(self, path: str) -> list[Any]:
        """The bodies POSTed to `path`, in order."""
        with self.lock:
            return [r.json() for r in self.received if r.method == "POST" and r.path == path]
