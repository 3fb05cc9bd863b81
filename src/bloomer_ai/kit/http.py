"""Exception handlers and the JSON route class: every error in the one shape."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from bloomer_ai.db.session import finish_request_session
from bloomer_ai.errors import (
    AppError,
    Conflict,
    InternalError,
    MethodNotAllowed,
    RouteNotFound,
    UnsupportedMediaType,
    ValidationFailed,
    error_body,
)

log = structlog.get_logger("bloomer_ai.errors")

# Constraint name → (code, message). Anything unknown is a generic 409.
CONSTRAINT_CONFLICTS: dict[str, tuple[str, str]] = {
    "uq_users_email_lower": ("email_taken", "A user with this e-mail address exists."),
    "uq_customers_shop_id_phone": ("phone_taken", "A customer with this phone number exists."),
    "uq_orders_shop_id_number": ("order_number_taken", "An order with this number exists."),
}


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:] if parts[0] == "body" else parts
    path = ""
    for part in parts:
        if part.isdigit():
            path += f"[{part}]"
        else:
            path += ("." if path else "") + part
    return path


def validation_details(errors: Any) -> list[dict[str, Any]]:
    details = []
    for error in errors:
        details.append(
            {
                "field": _location(error.get("loc", ())),
                "message": str(error.get("msg", "invalid")),
                "type": str(error.get("type", "value_error")),
            }
        )
    return details


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


async def handle_app_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return _json(exc.status_code, exc.body(), exc.headers or None)


async def handle_validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    error = ValidationFailed(details=validation_details(exc.errors()))
    return _json(error.status_code, error.body())


async def handle_http_exception(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    error: AppError
    if exc.status_code == 404:
        error = RouteNotFound()
    elif exc.status_code == 405:
        error = MethodNotAllowed()
    else:
        error = AppError(str(exc.detail))
        error.status_code = exc.status_code  # type: ignore[misc]
    headers = dict(exc.headers or {})
    return _json(exc.status_code, error.body(), headers or None)


async def handle_integrity_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IntegrityError)
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    code, message = CONSTRAINT_CONFLICTS.get(constraint or "", (Conflict.code, Conflict.message))
    return _json(409, error_body(code, message))


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    # The traceback goes to the log (through the redaction step), never to the client.
    log.error(
        "unhandled_error",
        error_type=type(exc).__name__,
        request_id=request.scope.get("state", {}).get("request_id"),
        exc_info=exc,
    )
    error = InternalError()
    return _json(error.status_code, error.body())


def install_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, handle_app_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_exception_handler(IntegrityError, handle_integrity_error)
    app.add_exception_handler(Exception, handle_unexpected)


_JSON_TYPES = ("application/json",)


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in _JSON_TYPES or media_type.endswith("+json")


_HEADER_MAP_KEY = "bloomer.headers"


def scope_header(scope: Scope, name: bytes) -> str | None:
    """One request header (``name`` lower-case), as Starlette's ``headers.get`` reads it
    (the first of repeated ones), from a map made once per request: the hot path reads
    five or six headers, and each ``headers.get`` scans them all."""
    headers: dict[bytes, bytes] | None = scope.get(_HEADER_MAP_KEY)
    if headers is None:
        headers = scope[_HEADER_MAP_KEY] = dict(reversed(scope["headers"]))
    value = headers.get(name)
    return value.decode("latin-1") if value is not None else None


def header(request: Request, name: bytes) -> str | None:
    return scope_header(request.scope, name)


async def check_json_body(request: Request) -> bytes:
    """The request body of a route that reads JSON: 415 when a body is there but not JSON."""
    if request.method not in {"POST", "PUT", "PATCH"}:
        return b""
    body = await request.body()
    if body and not _is_json(header(request, b"content-type") or ""):
        raise UnsupportedMediaType()
    return body


async def in_unit_of_work(
    handler: Callable[[Request], Awaitable[Response]], request: Request
) -> Response:
    """Run an endpoint, then end the request's unit of work before the response is sent:
    commit on success (a failed commit raises, so it becomes an error response), rollback
    on error."""
    try:
        response = await handler(request)
    except BaseException:
        await finish_request_session(request.scope, failed=True)
        raise
    await finish_request_session(request.scope, failed=False)
    return response


class JsonRoute(APIRoute):
    """The route class of every API router.

    * Refuses bodies that are not JSON (415) on routes that read a JSON body; routes that
      read raw bytes (signed webhooks) declare no body field and are not affected.
    * Ends the request's unit of work after the endpoint returns and before the response is
      sent: commit on success, rollback on error.

    ``kit.direct.DirectRoutes`` serves eligible routes with the same two rules.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        expects_body = self.body_field is not None

        async def route_handler(request: Request) -> Response:
            if expects_body:
                await check_json_body(request)
            return await in_unit_of_work(handler, request)

        return route_handler
