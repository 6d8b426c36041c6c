"""Refold's error envelope, for every error Weft answers, the framework's own included."""

from __future__ import annotations

import logging
import uuid
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from weft.api.inbound import DEFAULT_MAX_JSON_DEPTH, body_problem, target_problem
from weft.errors import WeftError
from weft.observability.logs import request_id_var
from weft.store.db import is_database_unavailable, log_database_failure

log = logging.getLogger("weft.api")

_FRAMEWORK_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}


def error_body(
    status: int, error_code: str, message: str, request_id: str, **extra: Any
) -> dict[str, Any]:
    """The envelope: status, HTTP error type, stable code, message and the request's id.

    The code is sent twice: Refold's older docs name it `error_code`, its newer ones `error`.
    """
    return {
        "status_code": status,
        "http_error_type": HTTPStatus(status).name,
        "error_code": error_code,
        "error": error_code,
        "message": message,
        "request_id": request_id,
        **extra,
    }


def request_id_of(request: Request) -> str:
    """The id the request-id middleware gave this request."""
    return str(request.scope.get("state", {}).get("request_id") or uuid.uuid4())


def _respond(request: Request, status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(error_body(status, code, message, request_id_of(request), **extra), status)


async def _weft_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WeftError)
    response = _respond(request, exc.status_code, exc.error_code, exc.message, **exc.details)
    response.headers.update(getattr(exc, "headers", None) or {})
    return response


def _describe(error: dict[str, Any]) -> str:
    where = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
    if error.get("type") == "json_invalid":
        return "Request body is not valid JSON"
    field = ".".join(where) or "body"
    return f"{field}: {error.get('msg', 'invalid')}"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    message = "; ".join(_describe(e) for e in errors[:10]) or "Invalid request"
    details = [
        {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg")}
        for e in errors
    ]
    return _respond(request, 400, "INVALID_INPUT", message, errors=details)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = _FRAMEWORK_CODES.get(status, HTTPStatus(status).name)
    if status == 404 and exc.detail == "Not Found":
        message = f"No route {request.method} {request.url.path}"
    else:
        message = str(exc.detail)
    response = _respond(request, status, code, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _database_busy(request: Request, exc: Exception) -> JSONResponse:
    log_database_failure(log, f"{request.method} {request.url.path} answered 503", exc)
    response = _respond(
        request, 503, "DATABASE_BUSY", "The database is busy or unreachable; retry shortly"
    )
    response.headers["retry-after"] = "1"
    return response


def _is_number_out_of_range(exc: Exception) -> bool:
    """An integer the database column cannot hold (SQLite: 64 bits; PostgreSQL: the column's)."""
    if isinstance(exc, OverflowError):
        return True
    cause = getattr(exc, "orig", None)
    text = str(cause or "")
    return "out of range" in text or "out of int" in text or "too large" in text


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if is_database_unavailable(exc):
        return await _database_busy(request, exc)
    if _is_number_out_of_range(exc):
        return _respond(request, 400, "INVALID_INPUT", "A number in the request is out of range")
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if is_database_unavailable(exc):  # connecting failed: the driver raised a bare OSError
        return await _database_busy(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _respond(request, 500, "SERVER_ERROR", "Internal server error")


def install_error_handlers(app: FastAPI) -> None:
    """Route every kind of error through the envelope."""
    app.add_exception_handler(WeftError, _weft_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_busy)
    # Every pooled connection stayed busy past the pool's timeout: load, not a fault. (Left to
    # the catch-all handler, Starlette would answer 503 and still raise it to the server.)
    app.add_exception_handler(PoolTimeout, _database_busy)
    app.add_exception_handler(OverflowError, _database_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected)


class RequestIdMiddleware:
    """Gives every request a fresh UUID, kept in scope state and sent as `x-request-id`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        logged_as = request_id_var.set(request_id)  # every log line of this request carries it

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(logged_as)


class BodyLimitMiddleware:
    """Answers 413 for request bodies over the limit, declared or streamed, and 400 for what no
    database can store (NUL, NaN, nesting past the limit: see `inbound.py`), before any handler."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        max_json_depth: int = DEFAULT_MAX_JSON_DEPTH,
        larger: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_json_depth = max_json_depth
        # Paths that take bigger bodies (an OpenAPI document to import), each with its limit.
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = target_problem(scope.get("path", ""), scope.get("query_string", b""))
        if problem:
            await self._reject(scope, send, 400, "INVALID_INPUT", problem)
            return
        limit = self.larger.get(scope.get("path", ""), self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject_too_large(scope, send, limit)
            return
        # Buffer the body (bounded by the limit) so a chunked upload cannot slip past it.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._reject_too_large(scope, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = body_problem(body, self.max_json_depth) if body else None
        if problem:
            await self._reject(scope, send, 400, "INVALID_INPUT", problem)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject_too_large(self, scope: Scope, send: Send, limit: int) -> None:
        message = f"Request body larger than {limit} bytes"
        await self._reject(scope, send, 413, "PAYLOAD_TOO_LARGE", message)

    async def _reject(self, scope: Scope, send: Send, status: int, code: str, message: str) -> None:
        request_id = scope.get("state", {}).get("request_id") or str(uuid.uuid4())
        response = JSONResponse(error_body(status, code, message, request_id), status)
        await response(scope, _drain, send)


async def _drain() -> Message:
    return {"type": "http.disconnect"}
