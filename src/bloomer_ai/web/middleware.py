"""The outermost ASGI layer: request id, body size limit, access log line, metrics.

Pure ASGI (not BaseHTTPMiddleware) so streaming responses pass through untouched and the
cost per request stays small.
"""

from __future__ import annotations

import itertools
import os
import re
import time
import uuid
from typing import Any

import orjson
import structlog
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bloomer_ai.errors import InternalError, PayloadTooLarge
from bloomer_ai.web.metrics import observe_request
from bloomer_ai.web.routes import scope_header
from bloomer_ai.web.unit_of_work import REQUEST_SESSION_KEY, finish_request_session

access_log = structlog.get_logger("bloomer_ai.access")
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_VARY_ORIGIN = (b"vary", b"Origin")
# Request ids: a random prefix per process and a counter — unique without a system call
# for randomness on every request (uuid4 costs one).
_id_prefix = uuid.uuid4().hex[:16]
_id_counter = itertools.count(1)


def _new_request_id() -> str:
    return f"{_id_prefix}{next(_id_counter):016x}"


def _new_id_prefix() -> None:
    global _id_prefix, _id_counter  # a forked worker must not repeat its parent's ids
    _id_prefix, _id_counter = uuid.uuid4().hex[:16], itertools.count(1)


os.register_at_fork(after_in_child=_new_id_prefix)


RESPONSE_HEADERS_KEY = "response_headers"
ERROR_CODE_KEY = "error_code"


def note_error_code(scope: Scope, code: str) -> None:
    """The error code of the answer, for the request's log line."""
    scope.setdefault("state", {})[ERROR_CODE_KEY] = code


def add_response_headers(scope: Scope, headers: list[tuple[bytes, bytes]]) -> None:
    """Headers for the response, whatever answers it (the route, an error handler):
    ``RequestContextMiddleware`` adds them when the response starts."""
    scope.setdefault("state", {}).setdefault(RESPONSE_HEADERS_KEY, []).extend(headers)


class _BodyTooLarge(Exception):
    pass


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        log_requests: bool = True,
        cors_options: dict[str, Any] | None = None,
        plain_route_templates: dict[Any, str] | None = None,
    ) -> None:
        self.app = app
        # Routes that are not API routes (the OpenAPI document, /docs and its files) do not
        # put themselves in the scope; they are labelled by their endpoint instead.
        self.plain_route_templates = plain_route_templates or {}
        # Starlette's CORS for the requests it concerns: those with an Origin header (a
        # browser's cross-origin ones). Others skip it (~7 µs a request) and get the
        # `Vary: Origin` it would have added.
        self.cors = CORSMiddleware(app, **cors_options) if cors_options is not None else None
        self.max_body_bytes = max_body_bytes
        # Decided once: building a log event that the level then drops costs per request.
        self.log_requests = log_requests
        # A logger bound once (Starlette builds the middleware at the first request, after
        # logging is configured), not structlog's lazy proxy, which rebuilds one per call.
        self.access_log = access_log.bind()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        incoming_id, declared = _request_id_and_length(scope)
        inner, vary_origin = self.app, False
        if self.cors is not None:
            if scope_header(scope, b"origin") is None:
                vary_origin = True
            else:
                inner = self.cors
        request_id = incoming_id or _new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder = {"status": 500, "started": False}
        request_id_header = (b"x-request-id", request_id.encode())

        if declared is not None and declared > self.max_body_bytes:
            await _send_error(send, scope, self._too_large(), request_id_header)
            self._finish(scope, request_id, 413, started)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge
            return message

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                headers = list(message.get("headers", []))
                headers.append(request_id_header)
                if vary_origin:
                    headers.append(_VARY_ORIGIN)
                added = scope.get("state", {}).get(RESPONSE_HEADERS_KEY)
                if added:
                    headers.extend(added)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await inner(scope, limited_receive, send_with_id)
        except _BodyTooLarge:
            if not status_holder["started"]:
                await _send_error(send, scope, self._too_large(), request_id_header)
            status_holder["status"] = 413
        except Exception:
            # The app's 500 handler answers from outside this layer, without the request id:
            # answer here instead; the error still propagates so the server logs it.
            if not status_holder["started"]:
                await _send_error(send, scope, InternalError(), request_id_header)
            status_holder["status"] = 500
            raise
        finally:
            if REQUEST_SESSION_KEY in scope.get("state", {}):
                # A route outside JsonRoute left its unit of work open: never commit it.
                await finish_request_session(scope, failed=True)
            self._finish(scope, request_id, int(status_holder["status"]), started)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"The request body is larger than the limit of {self.max_body_bytes} bytes."
        )

    def _finish(self, scope: Scope, request_id: str, status: int, started: float) -> None:
        duration = time.perf_counter() - started
        route = scope.get("route")
        template = getattr(route, "path", None) or self.plain_route_templates.get(
            scope.get("endpoint"), "<unmatched>"
        )
        method = scope.get("method", "")
        observe_request(method, template, status, duration)
        if not self.log_requests:
            return
        state = scope.get("state", {})
        error_code = state.get(ERROR_CODE_KEY)
        self.access_log.info(
            "request",
            method=method,
            route=template,
            status=status,
            duration_ms=round(duration * 1000, 2),
            request_id=request_id,
            shop_id=state.get("shop_id"),
            **({"error_code": error_code} if error_code else {}),
        )


def _request_id_and_length(scope: Scope) -> tuple[str | None, int | None]:
    """The client's X-Request-ID (if safe to echo) and Content-Length, in one pass."""
    request_id: str | None = None
    length: int | None = None
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            # Echo only ids that are safe to log and to put in a header.
            request_id = candidate if _REQUEST_ID_OK.match(candidate) else None
        elif name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None
    return request_id, length


async def _send_error(
    send: Send, scope: Scope, error: Any, extra_header: tuple[bytes, bytes]
) -> None:
    note_error_code(scope, error.code)
    body = orjson.dumps(error.body())
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                extra_header,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
