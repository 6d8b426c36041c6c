"""One error hierarchy. The API layer turns a `WeftError` into Refold's error envelope."""

from __future__ import annotations

from typing import Any


class WeftError(Exception):
    """An error a caller can act on: carries an HTTP status, a stable code and a message."""

    status_code = 400
    error_code = "BAD_REQUEST"

    def __init__(
        self,
        message: str,
        *,
        error_code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if error_code:
            self.error_code = error_code
        self.details = details or {}


class InvalidInput(WeftError):
    status_code = 400
    error_code = "INVALID_INPUT"


class Unauthorized(WeftError):
    status_code = 401
    error_code = "SERVER_ERROR"  # Refold's own code for bad credentials

    def __init__(self, message: str = "Invalid Credentials") -> None:
        super().__init__(message)


class NotFound(WeftError):
    status_code = 404
    error_code = "NOT_FOUND"


class Conflict(WeftError):
    status_code = 409
    error_code = "CONFLICT"


class GraphInvalid(WeftError):
    status_code = 422
    error_code = "WORKFLOW_INVALID"


class RateLimited(WeftError):
    """Too many requests: the answer carries `Retry-After` (seconds) as a header and a field."""

    status_code = 429
    error_code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.headers = {"retry-after": str(retry_after)}
