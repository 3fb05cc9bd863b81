"""Exception handlers: every error in the one shape, nothing internal in a body."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from bloomer_ai.errors import (
    AppError,
    Conflict,
    InternalError,
    MethodNotAllowed,
    RouteNotFound,
    ServiceUnavailable,
    ValidationFailed,
    error_body,
)

log = structlog.get_logger("bloomer_ai.errors")

# Constraint name → (code, message). Anything unknown is a generic 409.
CONSTRAINT_CONFLICTS: dict[str, tuple[str, str]] = {
    "uq_users_email_lower": ("email_taken", "A user with this e-mail address exists."),
    "uq_customers_shop_id_phone": ("phone_taken", "A customer with this phone number exists."),
    "uq_orders_shop_id_number": ("order_number_taken", "An order with this number exists."),
    "uq_integrations_phone_number": (
        "phone_number_taken",
        "Another integration has this phone number.",
    ),
}


class ReplayedResponse(Exception):
    """A complete answer given before (an idempotent repeat): sent as it was stored, with
    ``Idempotent-Replayed: true``. Raised by a dependency to answer without the endpoint."""

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        super().__init__("replayed response")
        self.status = status
        self.body = body
        self.content_type = content_type


async def handle_replayed_response(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ReplayedResponse)
    return Response(
        exc.body,
        status_code=exc.status,
        media_type=exc.content_type,
        headers={"Idempotent-Replayed": "true"},
    )


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
    return [
        {
            "field": _location(error.get("loc", ())),
            "message": str(error.get("msg", "invalid")),
            "type": str(error.get("type", "value_error")),
        }
        for error in errors
    ]


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


# Seconds a client is asked to wait when the database cannot be reached.
RETRY_AFTER_SECONDS = 5


class DatabaseUnavailable(ServiceUnavailable):
    message = "The database cannot be reached; retry shortly."


async def handle_database_unavailable(_request: Request, exc: Exception) -> Response:
    """The database is down, restarting or out of connections: 503 with Retry-After, an
    ordinary response (the client's connection is kept; the next request tries again)."""
    log.warning("database_unavailable", error_type=type(exc).__name__)
    error = DatabaseUnavailable(headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return _json(error.status_code, error.body(), error.headers)


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
    app.add_exception_handler(ReplayedResponse, handle_replayed_response)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_exception_handler(IntegrityError, handle_integrity_error)
    # Connection refused or lost, pool exhausted, a statement cancelled by its timeout.
    for unavailable in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(unavailable, handle_database_unavailable)
    app.add_exception_handler(Exception, handle_unexpected)
