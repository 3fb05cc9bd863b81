"""Direct dispatch: a static API path served without FastAPI's router and dependency solver.

FastAPI spends more CPU choosing a route (it walks every route of every included router,
twice) and solving a route's dependencies than our hot routes spend on their own work
(auth from a warm cache, one rate-limit increment, an evaluation of compiled rules). So once
FastAPI has served a ``(method, path)`` with a static route of ours, ``DirectRoutes`` serves
the next requests of that pair itself, with the same meaning:

* the same route object FastAPI chose (it is learned from ``scope["route"]``, never guessed);
* the route's dependencies called in FastAPI's order, each once per request (``use_cache``),
  query parameters and the JSON body validated by FastAPI's own functions, so values and
  422 details are the same;
* the response model validated and serialised by FastAPI's ``serialize_response`` (an
  instance of the model's own class, which that validation gives back unchanged, is
  serialised at once with the route's options);
* errors answered by the app's exception handlers, and the unit of work ended as
  ``JsonRoute`` ends it (commit before the response, rollback on error).

A route qualifies only when all of that covers it (``direct_plan`` says why not): a
``JsonRoute`` with a static path, the default response class, an ``async def`` endpoint
that is not a generator, and dependencies that are ``async`` callables taking only the
``Request``, query parameters and other such dependencies. Everything else — and every
request while ``app.dependency_overrides`` is set — goes through FastAPI as before.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from copy import deepcopy
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from fastapi import FastAPI
from fastapi._compat import Undefined
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import (
    _get_param_model,
    request_body_to_args,
    request_params_to_args,
)
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.routing import serialize_response
from fastapi.utils import is_body_allowed_for_status_code
from pydantic import BaseModel, ValidationError
from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from bloomer_ai.kit.http import JsonRoute, check_json_body, in_unit_of_work

Resolved = dict[Callable[..., Any], Any]
_IMMUTABLE = (type(None), bool, int, float, str, bytes)


class _QueryFields:
    """A dependant's query parameters, validated by FastAPI's own function.

    With no query string at all and only optional parameters, the values are their
    defaults (what FastAPI's validation returns for absent ones) without parsing anything.
    """

    def __init__(self, fields: list[Any]) -> None:
        self.fields = fields
        self.defaults: dict[str, Any] | None = {}
        for field in fields:
            info = field.field_info
            if info.is_required() or info.validate_default or _get_param_model(field):
                self.defaults = None
                break
            self.defaults[field.name] = field.default
        # Copied per request as FastAPI copies a default, unless none can be mutated.
        self.copy_defaults = self.defaults is not None and not all(
            isinstance(value, _IMMUTABLE) for value in self.defaults.values()
        )

    def __bool__(self) -> bool:
        return bool(self.fields)

    def values(self, request: Request) -> tuple[dict[str, Any], list[Any]]:
        if self.defaults is not None and not request.scope.get("query_string"):
            if self.copy_defaults:
                return {name: deepcopy(value) for name, value in self.defaults.items()}, []
            return dict(self.defaults), []
        return request_params_to_args(self.fields, request.query_params)


@dataclass(frozen=True)
class _Step:
    """One dependency: its callable, its argument names, and its own sub-steps."""

    name: str | None
    call: Callable[..., Awaitable[Any]]
    request_param: str | None
    query: _QueryFields
    steps: tuple[_Step, ...]
    use_cache: bool

    @cached_property  # asked on every request
    def takes_only_request(self) -> bool:
        return not self.steps and not self.query


def _is_async_call(call: Any) -> bool:
    if inspect.isasyncgenfunction(call) or inspect.isgeneratorfunction(call):
        return False
    if inspect.iscoroutinefunction(call):
        return True
    dunder = getattr(call, "__call__", None)  # noqa: B004 - a callable instance such as Access
    return inspect.iscoroutinefunction(dunder) and not inspect.isclass(call)


def _plan_step(dependant: Dependant, *, top: bool) -> _Step | str:
    """The step for one dependant, or why it cannot be served directly."""
    call = dependant.call
    if call is None or not _is_async_call(call):
        return f"{getattr(call, '__name__', call)!r} is not a plain async callable"
    unsupported = [
        ("path parameters", dependant.path_params),
        ("header parameters", dependant.header_params),
        ("cookie parameters", dependant.cookie_params),
        ("a Response parameter", dependant.response_param_name),
        ("background tasks", dependant.background_tasks_param_name),
        ("security scopes", dependant.security_scopes_param_name),
        ("a WebSocket parameter", dependant.websocket_param_name),
        ("an HTTPConnection parameter", dependant.http_connection_param_name),
    ]
    if not top:
        unsupported.append(("a body", dependant.body_params))
    for what, present in unsupported:
        if present:
            return f"{getattr(call, '__name__', call)!r} takes {what}"
    steps = []
    for sub in dependant.dependencies:
        step = _plan_step(sub, top=False)
        if isinstance(step, str):
            return step
        steps.append(step)
    return _Step(
        name=dependant.name,
        call=call,
        request_param=dependant.request_param_name,
        query=_QueryFields(list(dependant.query_params)),
        steps=tuple(steps),
        use_cache=dependant.use_cache,
    )


def direct_plan(route: Any, served: Any = None) -> _Step | str:
    """How ``route`` is served directly, or why it is left to FastAPI.

    ``served`` is what FastAPI actually ran for it: the route as included in the app
    (FastAPI's effective route context, with the include's prefix, dependencies and body
    limit), or the route itself.
    """
    served = route if served is None else served
    if not isinstance(route, JsonRoute):
        return "not a JsonRoute"
    if served.param_convertors:
        return "the path has parameters"
    if not isinstance(served.response_class, DefaultPlaceholder):
        return "a custom response class"
    if getattr(served, "max_body_size", None) is not None:
        return "a body size limit of FastAPI's"
    if served.dependant is None:
        return "no dependant"
    return _plan_step(served.dependant, top=True)


async def _solve(step: _Step, request: Request, resolved: Resolved) -> tuple[Any, list[Any]]:
    """A step with inputs to gather: its sub-steps and query parameters, then the call.

    As in ``solve_dependencies``: a step whose inputs failed validation is not called (its
    errors are reported), and its siblings still are.
    """
    values, errors = await _inputs(step, request, resolved)
    if errors:
        return None, errors
    if step.request_param is not None:
        values[step.request_param] = request
    result = resolved[step.call] = await step.call(**values)
    return result, []


async def _inputs(
    step: _Step, request: Request, resolved: Resolved
) -> tuple[dict[str, Any], list[Any]]:
    """A step's arguments from its sub-steps (each once per request, as FastAPI's
    ``use_cache``) and query parameters, with their errors."""
    values: dict[str, Any] = {}
    errors: list[Any] = []
    for sub in step.steps:
        if sub.use_cache and sub.call in resolved:
            value = resolved[sub.call]
        elif sub.takes_only_request:  # most dependencies (Access, feature switches)
            arguments = {sub.request_param: request} if sub.request_param else {}
            value = resolved[sub.call] = await sub.call(**arguments)
        else:
            value, sub_errors = await _solve(sub, request, resolved)
            if sub_errors:
                errors.extend(sub_errors)
                continue
        if sub.name is not None:
            values[sub.name] = value
    if step.query:
        query_values, query_errors = step.query.values(request)
        values.update(query_values)
        errors.extend(query_errors)
    return values, errors


class DirectEndpoint:
    """One route, served as ``JsonRoute`` + FastAPI would serve it, minus their overhead."""

    def __init__(self, route: JsonRoute, served: Any, plan: _Step) -> None:
        self.route = route  # what scope["route"] names, as FastAPI sets it
        self.served = served  # what runs: the route as included in the app
        self.plan = plan
        self.body_fields = list(served.dependant.body_params)
        self.embed_body = bool(getattr(served, "_embed_body_fields", False))
        self.body_model = _whole_body_model(self.body_fields, self.embed_body)
        self.status_code = served.status_code
        self.response_model = _own_response_model(served.response_field)
        self.render_options: dict[str, Any] = dict(
            include=served.response_model_include,
            exclude=served.response_model_exclude,
            by_alias=served.response_model_by_alias,
            exclude_unset=served.response_model_exclude_unset,
            exclude_defaults=served.response_model_exclude_defaults,
            exclude_none=served.response_model_exclude_none,
        )

    async def __call__(self, request: Request) -> Response:
        body: Any = Undefined
        body_values: dict[str, Any] | None = None
        if self.body_fields:
            # Read and parsed before the dependencies run, as FastAPI does: a body that is
            # not JSON is 415 and malformed JSON is 422 before authentication.
            raw = await check_json_body(request)
            if raw and self.body_model is not None:
                body_values, body = self._validate_whole_body(raw)
            elif raw:
                body = _parse_json(raw)
        plan = self.plan
        values, errors = await _inputs(plan, request, {})
        if body_values is None and self.body_fields:
            body_values, body_errors = await request_body_to_args(
                self.body_fields, body, self.embed_body
            )
            errors.extend(body_errors)
        if body_values:
            values.update(body_values)
        if errors:
            raise RequestValidationError(errors, body=None if body is Undefined else body)
        if plan.request_param is not None:
            values[plan.request_param] = request
        result = await plan.call(**values)
        if isinstance(result, Response):
            return result
        return await self._render(result)

    def _validate_whole_body(self, raw: bytes) -> tuple[dict[str, Any] | None, Any]:
        """A valid model body, parsed and validated in one pass (pydantic's JSON mode).

        Anything else takes FastAPI's own path (json.loads, then validation in Python
        mode), so malformed JSON and invalid fields get exactly FastAPI's errors.
        """
        assert self.body_model is not None
        try:
            return {self.body_fields[0].name: self.body_model.model_validate_json(raw)}, Undefined
        except ValidationError:
            return None, _parse_json(raw)

    async def _render(self, result: Any) -> Response:
        """As FastAPI renders a returned value: response model, status code, no-body statuses."""
        field = self.served.response_field
        content: Any
        if self.response_model is not None and type(result) is self.response_model:
            # FastAPI would validate the instance against its own class (which gives it back
            # unchanged) and then serialise it with these options: only the second step.
            content = result.__pydantic_serializer__.to_json(result, **self.render_options)
        else:
            content = await serialize_response(
                field=field,
                response_content=result,
                dump_json=field is not None,
                **self.render_options,
            )
        status = self.status_code or 200  # FastAPI: the route's, else the class default
        response: Response
        if field is not None:
            response = Response(content, status_code=status, media_type="application/json")
        else:
            response = JSONResponse(content, status_code=status)
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        return response


def _whole_body_model(fields: list[Any], embedded: bool) -> type[BaseModel] | None:
    """The model of a route whose whole JSON body is one pydantic model, else None."""
    if len(fields) != 1 or embedded:
        return None
    info = fields[0].field_info
    annotation = info.annotation
    if getattr(info, "embed", False) or info.metadata:
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _own_response_model(field: Any) -> type[BaseModel] | None:
    """The route's response model when an instance of it passes FastAPI's response
    validation unchanged (pydantic does not revalidate instances of the class itself)."""
    annotation = getattr(getattr(field, "field_info", None), "annotation", None)
    if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return None
    if annotation.model_config.get("revalidate_instances", "never") != "never":
        return None
    return annotation


def _parse_json(raw: bytes) -> Any:
    """json.loads with FastAPI's answers: 422 json_invalid, or 400 for undecodable bytes."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", exc.pos),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": exc.msg},
                }
            ],
            body=exc.doc,
        ) from exc
    except Exception as exc:
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc


class DirectRoutes:
    """ASGI layer: serve learned ``(method, path)`` pairs directly, the rest through FastAPI."""

    def __init__(self, app: ASGIApp, *, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self.endpoints: dict[tuple[str, str], DirectEndpoint] = {}
        self.refused: dict[int, str] = {}  # id(route) → why it is left to FastAPI
        self.enabled = True  # off: everything through FastAPI (tests compare the two)
        fastapi_app.state.direct_routes = self

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.enabled or self.fastapi_app.dependency_overrides:
            await self.app(scope, receive, send)
            return
        key = (scope["method"], get_route_path(scope))
        endpoint = self.endpoints.get(key)
        if endpoint is None:
            await self.app(scope, receive, send)
            self._learn(key, scope)
            return
        scope["route"] = endpoint.route
        scope["endpoint"] = endpoint.route.endpoint
        scope["path_params"] = {}
        request = Request(scope, receive)
        try:
            response = await in_unit_of_work(endpoint, request)
        except Exception as exc:
            handler = self._handler_for(exc)
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)

    def _learn(self, key: tuple[str, str], scope: Scope) -> None:
        route = scope.get("route")
        if route is None or id(route) in self.refused:
            return
        # FastAPI runs an included route as its effective context (the include's prefix
        # and dependencies added): learn that, never the bare route definition.
        context = scope.get("fastapi", {}).get("effective_route_context")
        served = context if getattr(context, "original_route", None) is route else route
        if getattr(served, "path", None) != key[1]:
            return
        if key[0] not in (getattr(served, "methods", None) or ()):
            return
        plan = direct_plan(route, served)
        if isinstance(plan, str):
            self.refused[id(route)] = plan
            return
        self.endpoints[key] = DirectEndpoint(route, served, plan)

    def _handler_for(
        self, exc: Exception
    ) -> Callable[[Request, Exception], Awaitable[Response]] | None:
        """The app's handler for this exception, as Starlette's ExceptionMiddleware finds it.

        The catch-all ``Exception`` handler is not used here: as for FastAPI's routes, an
        unexpected error propagates to the outer layers (500 with the request id, logged).
        """
        handlers = self.fastapi_app.exception_handlers
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            handler = handlers.get(cls)
            if handler is not None:
                return handler  # type: ignore[return-value]
        return None
