"""A fake third-party API on 127.0.0.1: records every request and answers canned JSON."""

from __future__ import annotations

from typing import Any

from servers import RecordingServer, Request

__all__ = ["FakeApi", "Request"]


class FakeApi(RecordingServer):
    """Answers `answers[(method, path)]` (status, body); anything else 404. Thread-served.

    A callable answer gets the request and returns (status, body) or (status, body, headers).
    """

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], tuple[int, Any]] = {}
        super().__init__()
        self.requests = self.received

    def answer(self, method: str, path: str, body: Any, status: int = 200) -> None:
        self.answers[(method, path)] = (status, body)

    def respond(self, request: Request) -> tuple[Any, ...]:
        status, answer = self.answers.get((request.method, request.path), (404, {"error": 1}))
        if callable(answer):
            # (status, body) or (status, body, headers)
            return tuple(answer(request))
        return status, answer
