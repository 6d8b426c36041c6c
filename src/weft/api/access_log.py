"""The access log and HTTP latency metric, keyed by route template, never by the raw path.

A raw path can hold a secret (`/hooks/{secret}`) and a query string credentials; logs travel to
places the database never goes. So a request is logged as its method and route template
(`/hooks/{secret}`), its status, duration and request id, and nothing of what the caller typed.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from weft.observability.metrics import HTTP_LATENCY

log = logging.getLogger("weft.access")

UNMATCHED = "(unmatched)"


def route_template(scope: Scope) -> str:
    """The template of the route that answered (`/hooks/{secret}`), or a fixed placeholder."""
    # FastAPI keeps the matched route with its routers' prefixes in its own scope entry; the
    # `route` entry alone is the route as its router declared it, without the prefix.
    effective = scope.get("fastapi", {}).get("effective_route_context")
    path = getattr(effective, "path", None)
    if not path:
        route = scope.get("route")
        path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else UNMATCHED


class StatusSent:
    """An ASGI `send` that passes every message on and keeps the status it answered with (500
    until a response starts, so a handler that raised counts as the 500 the server sends)."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        await self.send(message)


class AccessLogMiddleware:
    """Logs one line per request and observes its latency, after the response is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        sent = StatusSent(send)
        try:
            await self.app(scope, receive, sent)
        finally:
            elapsed = time.perf_counter() - began
            status = sent.status
            route = route_template(scope)
            HTTP_LATENCY.observe((scope["method"], route, str(status)), elapsed)
            log.info(
                "%s %s %s",
                scope["method"],
                route,
                status,
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
