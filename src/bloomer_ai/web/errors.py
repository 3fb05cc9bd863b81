"""Exception handlers: every error in the one shape, nothing internal in a body."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from bloomer_ai.errors import (
    AppError,
    Conflict,
    InternalError,
    MethodNotAllowed,
    NotFound,
    RouteNotFound,
    ServiceUnavailable,
    ValidationFailed,
)
from bloomer_ai.web.middleware import note_error_code

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


class ProviderAnswer(Exception):
    """A complete answer in a provider's own format, given by a dependency in place of the
    endpoint's (a voice provider told, in TwiML, that a number is not in service)."""

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        super().__init__("provider answer")
        self.status = status
        self.body = body
        self.content_type = content_type


async def handle_provider_answer(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProviderAnswer)
    return Response(exc.body, status_code=exc.status, media_type=exc.content_type)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic location as the one path convention of every error: where the value came
    from, then where in it — ``body.items[0].price``, ``query.limit``, ``header.x-api-key``."""
    path = ""
    for part in loc:
        if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path


# pydantic prefixes the message of a ValueError raised by a validator with its class name.
_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


def _message(error: dict[str, Any]) -> str:
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "not valid JSON")
        position = error.get("loc", ("body", 0))[-1]
        return f"the body is not valid JSON: {reason} at character {position}"
    message = str(error.get("msg", "invalid"))
    for prefix in _PYDANTIC_PREFIXES:
        message = message.removeprefix(prefix)
    return message


def validation_details(errors: Any) -> list[dict[str, Any]]:
    return [
        {
            "field": "body" if error.get("type") == "json_invalid" else field_path(error["loc"]),
            "message": _message(error),
            "type": str(error.get("type", "value_error")),
        }
        for error in errors
    ]


def _answer(request: Request, error: AppError, status: int | None = None) -> Response:
    note_error_code(request.scope, error.code)
    return JSONResponse(
        error.body(), status_code=status or error.status_code, headers=error.headers or None
    )


async def handle_app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return _answer(request, exc)


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return _answer(request, ValidationFailed(details=validation_details(exc.errors())))


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    error: AppError
    if exc.status_code == 404:
        error = RouteNotFound()
    elif exc.status_code == 405:
        error = MethodNotAllowed()
        # Starlette names the methods of the first route on the path; a path can have more.
        exc.headers = {**(exc.headers or {}), "Allow": ", ".join(allowed_methods(request))}
    else:
        error = AppError(str(exc.detail))
        error.status_code = exc.status_code  # type: ignore[misc]
    error.headers = dict(exc.headers or {})
    return _answer(request, error, exc.status_code)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on the request's path."""
    path = request.scope.get("path", "")
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        route_path, route_methods = route.path, route.methods
        if route_path and route_methods and compile_path(route_path)[0].match(path):
            methods |= route_methods
    return sorted(methods)


class GoneMeanwhile(NotFound):
    message = "It was deleted by another request meanwhile."


async def handle_stale_data(request: Request, exc: Exception) -> Response:
    """An update or delete that found its row gone: another request deleted it between
    this one's read and its write (READ COMMITTED). Not a server error: 404, as a read
    after the deletion would answer."""
    assert isinstance(exc, StaleDataError)
    return _answer(request, GoneMeanwhile())


async def handle_integrity_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IntegrityError)
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    code, message = CONSTRAINT_CONFLICTS.get(constraint or "", (Conflict.code, Conflict.message))
    conflict = Conflict(message)
    conflict.code = code  # type: ignore[misc]
    return _answer(request, conflict)


# Seconds a client is asked to wait when the database cannot be reached.
RETRY_AFTER_SECONDS = 5


class DatabaseUnavailable(ServiceUnavailable):
    message = "The database cannot be reached; retry shortly."


async def handle_database_unavailable(request: Request, exc: Exception) -> Response:
    """The database is down, restarting or out of connections: 503 with Retry-After, an
    ordinary response (the client's connection is kept; the next request tries again)."""
    log.warning("database_unavailable", error_type=type(exc).__name__)
    return _answer(request, DatabaseUnavailable(headers={"Retry-After": str(RETRY_AFTER_SECONDS)}))


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    # The traceback goes to the log (through the redaction step), never to the client.
    log.error(
        "unhandled_error",
        error_type=type(exc).__name__,
        request_id=request.scope.get("state", {}).get("request_id"),
        exc_info=exc,
    )
    return _answer(request, InternalError())


def install_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, handle_app_error)
    app.add_exception_handler(ReplayedResponse, handle_replayed_response)
    app.add_exception_handler(ProviderAnswer, handle_provider_answer)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_exception_handler(IntegrityError, handle_integrity_error)
    app.add_exception_handler(StaleDataError, handle_stale_data)
    # Connection refused or lost, pool exhausted, a statement cancelled by its timeout.
    for unavailable in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(unavailable, handle_database_unavailable)
    app.add_exception_handler(Exception, handle_unexpected)
