"""CORS for browser clients (Refold's frontend SDK), granted from each org's `allowed_origins`.

A preflight (`OPTIONS` with `Access-Control-Request-Method`) carries no credentials, so Weft
cannot tell which org it is for. It is granted when *some* org allows the origin: the grant only
lets the browser send the real request, which carries its own token. The real response is
readable by the page only if it carries `Access-Control-Allow-Origin`, and Weft adds that header
only when the org the request authenticated as (its session token or API key) lists the origin.
So a page on an origin org A allows cannot read org B's answers, and an origin no org lists gets
no grant at all, preflight or response. Credentials travel in headers, never cookies, so
`Access-Control-Allow-Credentials` is never sent.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from weft.api.envelope import error_body
from weft.errors import InvalidInput
from weft.tenancy.orgs import normalize_origin as stored_origin

# Headers Refold's clients send: the SDK's, the org-key pair, and Refold's optional ones.
ALLOWED_HEADERS = (
    "authorization, content-type, x-api-key, linked_account_id, linked-account-id, slug, "
    "config_id, config-id, sync_execution, sync-execution, idempotency-key, environment, "
    "instance_tag"
)
ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
EXPOSED_HEADERS = "x-request-id, x-execution-id, retry-after"
PREFLIGHT_MAX_AGE_S = 600
CACHE_TTL_S = 5.0

OriginsOfOrg = Callable[[str], Awaitable[list[str]]]
AllowedAnywhere = Callable[[str], Awaitable[bool]]


def normalize_origin(origin: str) -> str | None:
    """The origin as `allowed_origins` stores it, or None for `null` and anything malformed."""
    try:
        return stored_origin(origin)
    except InvalidInput:
        return None


class _TtlCache:
    """Answers remembered for a few seconds: preflights and responses must not cost a query each."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self.items: dict[str, tuple[float, object]] = {}

    async def get(self, key: str, load: Callable[[], Awaitable[object]]) -> object:
        hit = self.items.get(key)
        clock = time.monotonic()
        if hit is not None and hit[0] > clock:
            return hit[1]
        value = await load()
        if len(self.items) > 10_000:
            self.items.clear()
        self.items[key] = (clock + self.ttl_s, value)
        return value


class CorsMiddleware:
    """Preflights and `Access-Control-Allow-Origin` from the orgs' `allowed_origins`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        origins_of_org: OriginsOfOrg,
        allowed_anywhere: AllowedAnywhere,
        cache_ttl_s: float = CACHE_TTL_S,
    ) -> None:
        self.app = app
        self.origins_of_org = origins_of_org
        self.allowed_anywhere = allowed_anywhere
        self._orgs = _TtlCache(cache_ttl_s)
        self._anywhere = _TtlCache(cache_ttl_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_origin = headers.get(b"origin")
        if raw_origin is None:
            await self.app(scope, receive, send)
            return
        origin = normalize_origin(raw_origin.decode("latin-1"))
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            await self._preflight(scope, receive, send, origin)
            return

        async def send_with_grant(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"vary", b"Origin")]
                org_id = scope.get("state", {}).get("org_id")
                if origin and org_id and origin in await self._org_origins(org_id):
                    extra += [
                        (b"access-control-allow-origin", origin.encode()),
                        (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
                    ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_grant)

    async def _org_origins(self, org_id: str) -> set[str]:
        async def load() -> set[str]:
            return {o for o in map(normalize_origin, await self.origins_of_org(org_id)) if o}

        return await self._orgs.get(org_id, load)  # type: ignore[return-value]

    async def _preflight(
        self, scope: Scope, receive: Receive, send: Send, origin: str | None
    ) -> None:
        granted = bool(origin) and bool(
            await self._anywhere.get(origin or "", lambda: self.allowed_anywhere(origin or ""))
        )
        request_id = scope.get("state", {}).get("request_id") or ""
        response: Response
        if not granted:
            message = "This origin is not in any organisation's allowed_origins"
            response = JSONResponse(
                error_body(403, "CORS_ORIGIN_NOT_ALLOWED", message, request_id),
                403,
                headers={"vary": "Origin"},
            )
        else:
            response = Response(
                status_code=204,
                headers={
                    "access-control-allow-origin": origin or "",
                    "access-control-allow-methods": ALLOWED_METHODS,
                    "access-control-allow-headers": ALLOWED_HEADERS,
                    "access-control-max-age": str(PREFLIGHT_MAX_AGE_S),
                    "vary": "Origin",
                },
            )
        await response(scope, receive, send)
