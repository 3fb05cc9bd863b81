"""Errors: one class per failure, one body for all of them.

``{"error": {"code": "snake_case", "message": "A sentence.", "details": [...]}}``
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


class AppError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    message: ClassVar[str] = "The request could not be handled."

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.detail_message = message or self.message
        self.details = list(details or [])
        self.headers = dict(headers or {})
        super().__init__(self.detail_message)

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.detail_message, self.details)


def error_body(
    code: str, message: str, details: Sequence[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": list(details or [])}}


class BadRequest(AppError):
    pass


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    message = "The resource does not exist."


class RouteNotFound(NotFound):
    message = "No such route."


class MethodNotAllowed(AppError):
    status_code = 405
    code = "method_not_allowed"
    message = "This method is not allowed on this route."


class FeatureDisabled(AppError):
    status_code = 404
    code = "feature_disabled"
    message = "This feature is switched off."


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"
    message = "Missing or invalid credentials."


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    message = "You may not do this."


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    message = "The request conflicts with existing data."


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    message = "The request body is too large."


class UnsupportedMediaType(AppError):
    status_code = 415
    code = "unsupported_media_type"
    message = "Send the request body as application/json."


class ValidationFailed(AppError):
    status_code = 422
    code = "validation_error"
    message = "The request is not valid."


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"
    message = "Too many requests; retry later."


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"
    message = "The service is not ready."


class InternalError(AppError):
    status_code = 500
    code = "internal_error"
    message = "Something went wrong on our side."
