"""Errors a `code` step can fail with; each carries a message fit to show the workflow author."""

from __future__ import annotations

from weft.errors import WeftError


class SandboxError(WeftError):
    """The code could not produce an output; `message` says why in the author's terms."""

    status_code = 422
    error_code = "CODE_FAILED"


class CodeTimeout(SandboxError):
    """The code ran past its `timeout_ms`."""

    error_code = "CODE_TIMEOUT"

    def __init__(self, timeout_ms: int) -> None:
        super().__init__(f"Code exceeded its time limit of {timeout_ms} ms")
        self.timeout_ms = timeout_ms


class CodeMemoryExceeded(SandboxError):
    """The code allocated more than its `memory_mb`."""

    error_code = "CODE_MEMORY_EXCEEDED"

    def __init__(self, memory_mb: int) -> None:
        super().__init__(f"Code exceeded its memory limit of {memory_mb} MB")
        self.memory_mb = memory_mb


class CodeError(SandboxError):
    """The code threw (or did not parse), or its input was refused; `line` is 1-based if known."""

    error_code = "CODE_ERROR"

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message if line is None else f"{message} (line {line})")
        self.js_message = message
        self.line = line


class CodeOutputInvalid(SandboxError):
    """The code's result is not a JSON value (a function, a Promise, a BigInt, a cycle...)."""

    error_code = "CODE_OUTPUT_INVALID"


class SandboxCrashed(SandboxError):
    """The worker process died for a reason other than the code's limits (a V8 or host fault)."""

    error_code = "SANDBOX_CRASHED"
