"""Command line (`weft --help`); the commands are wired in `cli.commands`.

`app` is imported on first use: each process of `weft serve --processes N` imports
`cli.processes` from this package, and needs none of the commands (a fifth of its boot).
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "app":
        from weft.cli.commands import app

        return app
    raise AttributeError(f"module 'weft.cli' has no attribute {name!r}")


__all__ = ["app"]
