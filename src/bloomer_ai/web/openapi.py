"""The OpenAPI document as the contract.

FastAPI writes the document from the routes; this module adds what it cannot know: the one
error shape (``Error``) on every status a route can answer, the security schemes and what
each route accepts, and the scope it needs. A route says so through a dependency whose
callable has ``openapi_contract()`` (``auth.dependencies.Access``): the document is read
from the same declarations that enforce it, so it cannot drift from them.

Installed as FastAPI documents it ("Extending OpenAPI"): ``app.openapi`` replaced by a
function that builds the document once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel, Field

ERROR_REF = "#/components/schemas/Error"


class ErrorDetail(BaseModel):
    field: str = Field(
        description="Where: `body.…` (a JSON path in the body), `query.<name>`, "
        "`header.<name>` or `path.<name>`; `body` for the whole body."
    )
    message: str = Field(description="What was wrong and what is accepted.")
    type: str = Field(description="A machine-readable kind (`missing`, `string_too_long`, …).")


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable, for programs: `validation_error`, `not_found`, …")
    message: str = Field(description="For people; may change.")
    details: list[ErrorDetail] = Field(
        description="The faults of a 422, the missing scopes of a 403; else empty."
    )


class Error(BaseModel):
    """Every error of this API, from any route or layer."""

    error: ErrorInfo


@dataclass(frozen=True)
class RouteContract:
    """What a route's access declaration means for the document."""

    security: tuple[str, ...]
    scopes: frozenset[str] = frozenset()
    statuses: dict[int, str] = field(default_factory=dict)
    note: str = ""


@runtime_checkable
class DeclaresContract(Protocol):
    def openapi_contract(self) -> RouteContract: ...


# One description per error status, the same on every route.
STATUS_DESCRIPTIONS: dict[int, str] = {
    400: "Bad request.",
    401: "No credentials, or credentials that are not valid (`unauthorized`).",
    403: "Authenticated, but not allowed: a missing scope, role or the wrong kind of "
    "credential (`insufficient_scope`, `insufficient_role`, `session_required`, "
    "`api_key_required`, `csrf_rejected`, `forbidden_shop`).",
    404: "No such object in this shop, or the feature is switched off (`not_found`, "
    "`feature_disabled`, …).",
    409: "Conflicts with existing data.",
    413: "The body is larger than `MAX_REQUEST_BYTES` (`payload_too_large`).",
    415: "The body is not UTF-8 JSON (`unsupported_media_type`).",
    422: "The request is not valid; each fault in `details` with its path (`validation_error`).",
    429: "Rate limited (`rate_limited`); `Retry-After` says when to try again.",
    502: "The AI provider answered with an error (`provider_error`).",
    503: "The database cannot be reached (`service_unavailable`); retry after `Retry-After`.",
    504: "The AI provider did not answer in time (`provider_timeout`).",
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer"},
    }
}
RESPONSE_HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}}},
    429: RETRY_AFTER,
    503: RETRY_AFTER,
}


def install_openapi(app: FastAPI, security_schemes: dict[str, Any]) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = contract_document(app, security_schemes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def contract_document(app: FastAPI, security_schemes: dict[str, Any]) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    error_schema = Error.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["Error"] = error_schema
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    components["securitySchemes"] = security_schemes

    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _complete(operation, route)
    return document


def _complete(operation: dict[str, Any], route: RouteContext) -> None:
    dependants = list(_dependants(route))
    contracts = [
        d.call.openapi_contract() for d in dependants if isinstance(d.call, DeclaresContract)
    ]
    statuses: set[int] = set()
    for contract in contracts:
        statuses |= set(contract.statuses)
        if contract.security:
            operation["security"] = [{name: []} for name in contract.security]
        notes = [contract.note] if contract.note else []
        if contract.scopes:
            needed = ", ".join(f"`{scope}`" for scope in sorted(contract.scopes))
            notes.append(f"**Scope** (API keys): {needed}.")
        if notes:
            operation["description"] = "\n\n".join(
                part for part in (operation.get("description", "").strip(), *notes) if part
            )
    if route.body_field is not None:
        statuses |= {413, 415, 422}
    if any(d.query_params or d.header_params for d in dependants):
        statuses.add(422)
    if any(d.path_params for d in dependants):
        statuses |= {404, 422}
    responses = operation.setdefault("responses", {})
    declared = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
    for status in sorted(statuses | declared):
        response = responses.setdefault(str(status), {})
        response["description"] = response.get("description") or STATUS_DESCRIPTIONS.get(
            status, "An error."
        )
        if response["description"] == "Validation Error":
            response["description"] = STATUS_DESCRIPTIONS[422]
        response["content"] = {"application/json": {"schema": {"$ref": ERROR_REF}}}
        if status in RESPONSE_HEADERS:
            response["headers"] = RESPONSE_HEADERS[status]
    for response in responses.values():
        if response.get("description") == "Successful Response":
            response["description"] = "Success."
    operation["responses"] = dict(sorted(responses.items()))


def _dependants(route: RouteContext) -> Iterable[Any]:
    """The route's dependant and every dependency's, its router's included."""
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        yield dependant
        stack.extend(dependant.dependencies)
