"""What matching a request to its route costs: `weft.api.routing.Router` passing over routers that
cannot match, against FastAPI's walk over every route (the skipping switched off), alternating in
one process; CPU of this thread per request, median of 5 rounds of 2,000.

    .venv/bin/python bench/route_match.py

Prints one Markdown table row per request: FastAPI's walk, then with the skipping.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from starlette.routing import Match

from weft.api.routing import Router
from weft.app import create_app
from weft.settings import Settings

REQUESTS = [
    ("POST", "/hooks/abcdef"),
    ("POST", "/api/v2/public/workflow/x1/execute"),
    ("POST", "/api/v2/public/event"),
    ("GET", "/api/v2/public/execution/x1"),
    ("GET", "/api/v2/public/execution/x1/events"),
    ("GET", "/healthz"),
    ("GET", "/nope"),
]
ROUNDS, CALLS = 5, 2000


def main() -> None:
    data = Path(tempfile.mkdtemp())
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{data}/w.db", data_dir=data))

    def match(method: str, path: str) -> None:
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
        for route in app.router.routes:
            if route.matches(scope)[0] == Match.FULL:
                return

    skipping = Router._search
    cost: dict[tuple[str, str], dict[str, list[float]]] = {
        r: {"walk": [], "skip": []} for r in REQUESTS
    }
    for _ in range(ROUNDS):
        for mode in ("walk", "skip"):
            Router._search = skipping if mode == "skip" else (lambda self: None)  # type: ignore[method-assign]
            for request in REQUESTS:
                match(*request)
                began = time.thread_time()
                for _ in range(CALLS):
                    match(*request)
                cost[request][mode].append((time.thread_time() - began) / CALLS * 1e6)
    Router._search = skipping  # type: ignore[method-assign]
    for (method, path), by_mode in cost.items():
        walk, skip = (statistics.median(by_mode[mode]) for mode in ("walk", "skip"))
        print(f"| `{method} {path}` | {walk:.1f} µs | {skip:.1f} µs |")


if __name__ == "__main__":
    main()
