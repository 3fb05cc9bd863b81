"""The route class of every API router, and reading request headers."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.types import Scope

from bloomer_ai.errors import UnsupportedMediaType
from bloomer_ai.web.input_checks import check_encoding, check_json_text, check_query_text
from bloomer_ai.web.unit_of_work import finish_request_session, run_before_commit


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


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


async def check_json_body(request: Request) -> None:
    """A route that reads JSON: 415 when a body is there but not UTF-8 JSON, 422 for text
    that could not be stored (``web.input_checks``).

    The body is read here, before FastAPI reads it: a body over the size limit then ends
    in ``RequestContextMiddleware``'s 413 (FastAPI would answer any error while reading
    with a 400)."""
    if request.method not in {"POST", "PUT", "PATCH"}:
        return
    body = await request.body()
    if not body:
        return
    content_type = header(request, b"content-type") or ""
    if not _is_json(content_type):
        raise UnsupportedMediaType()
    check_encoding(body, content_type)
    check_json_text(body)


class JsonRoute(APIRoute):
    """The route class of every API router.

    * Refuses bodies that are not UTF-8 JSON (415) on routes that read a JSON body, and
      text no table could store (422, ``web.input_checks``) in bodies and query strings;
      routes that read raw bytes (signed webhooks) declare no body field and check what
      they store themselves.
    * Ends the request's unit of work after the endpoint returns and before the response is
      sent: the steps registered with ``before_commit`` (with the response), then commit on
      success (a failed commit raises, so it becomes an error response), rollback on error.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        expects_body = self.body_field is not None

        async def route_handler(request: Request) -> Response:
            check_query_text(request.scope["query_string"])
            if expects_body:
                await check_json_body(request)
            try:
                response = await handler(request)
                await run_before_commit(request.scope, response)
            except BaseException:
                await finish_request_session(request.scope, failed=True)
                raise
            await finish_request_session(request.scope, failed=False)
            return response

        return route_handler
