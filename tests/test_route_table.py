"""The route table: every route and mount declares its auth kind, and each kind's promises
hold on every route, read from the app's own table so a route added tomorrow is checked
without anyone remembering to add it here.

What each kind implies (DESIGN.md §2), each request sent twice to the same app (the first
meets cold caches, the second warm ones):

* no credentials → 401;
* session-or-key and API-key routes: a key without the route's scope → 403; session
  routes: an API key → 403;
* a route with an object id in its path: another shop's object → 404;
* a route with a JSON body: an unknown field → 422 naming it (not signed webhooks, whose
  senders add fields).
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from httpx import ASGITransport, AsyncClient
from starlette.routing import Mount, Route

from bloomer_ai.auth.dependencies import Access, AuthKind
from bloomer_ai.auth.scopes import ALL_SCOPES
from bloomer_ai.config import RateLimitSettings
from bloomer_ai.db.engine import DatabaseTarget
from bloomer_ai.main import create_app
from conftest import make_settings
from factories.agent import create_conversation
from factories.campaign_generation import create_generation_row
from factories.core import add_member, create_customer, create_order, create_shop, create_user
from factories.integrations import create_integration
from factories.outbound_webhooks import create_endpoint_row, create_event_row
from factories.routing import create_rule_row
from factories.support import create_support_event, create_support_rule, create_support_task
from factories.tools import create_product
from factories.voice import create_voice_call
from support.auth import bearer, database_session, issue_key, key_headers
from support.routing import BIG_ORDERS

# Routes and mounts that are open on purpose: health, metrics and the API docs.
PUBLIC_PATHS = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/static-offline-docs",
}
SENT = 2  # cold, then warm

# A valid body for each route that takes one, so that a 404 is about the object and a 422
# about the unknown field alone. A new route with a body needs an entry.
VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/ai/keys"): {"name": "route table", "scopes": ["routing:read"]},
    ("POST", "/api/ai/routing/evaluate"): {"items": [{"productType": "bouquet"}]},
    ("POST", "/api/ai/routing/rules"): BIG_ORDERS,
    ("PATCH", "/api/ai/routing/rules/{rule_id}"): {"name": "renamed"},
    ("POST", "/api/ai/agent"): {"message": "hello"},
    ("POST", "/api/lilli/chat"): {"message": "hello"},
    ("POST", "/api/ai/conversations"): {"title": "route table"},
    ("POST", "/api/ai/conversations/{conversation_id}/messages"): {
        "messages": [{"role": "assistant", "content": "hi"}]
    },
    ("PATCH", "/api/ai/agent/config"): {"lilliEnabled": True},
    ("POST", "/api/ai/integrations"): {
        "provider": "vapi",
        "kind": "voice",
        "secrets": {"serverSecret": "route-table-secret"},
    },
    ("PATCH", "/api/ai/integrations/{integration_id}"): {"status": "disabled"},
    ("POST", "/api/ai/support/rules"): {
        "name": "route table",
        "conditions": {"==": [{"var": "type"}, "handoff.requested"]},
        "actions": [{"type": "create_task", "title": "Handoff"}],
    },
    ("PATCH", "/api/ai/support/rules/{support_rule_id}"): {"name": "renamed"},
    ("PATCH", "/api/ai/support/tasks/{task_id}"): {"status": "done"},
    ("POST", "/api/ai/webhooks/endpoints"): {"url": "https://hooks.example.com/in"},
    ("PATCH", "/api/ai/webhooks/endpoints/{endpoint_id}"): {"enabled": False},
    ("POST", "/api/ai/campaigns/suggest"): {"occasion": "christmas"},
    ("POST", "/api/ai/products"): {"name": "Red roses", "price": 2950},
    ("PATCH", "/api/ai/products/{product_id}"): {"available": False},
    ("POST", "/api/ai/campaigns/generate"): {"input": {"channel": "email"}},
    ("POST", "/api/ai/campaigns/generate/{generation_id}/result"): {
        "status": "failed",
        "error": {"code": "route_table", "message": "route table"},
    },
    ("POST", "/api/ai/voice/orders"): {
        "items": [{"productType": "bouquet", "name": "Roses"}],
        "customer": {"phone": "+31612345678"},
    },
}


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    kind: AuthKind
    scopes: frozenset[str]
    has_body: bool


def auth_declarations(route: Any) -> list[Any]:
    """Dependencies of a route (its router's included) that declare an auth kind."""
    found, stack = [], [route.dependant]
    while stack:
        dependant = stack.pop()
        if hasattr(dependant.call, "auth_kind"):
            found.append(dependant.call)
        stack.extend(dependant.dependencies)
    return found


def route_specs(app: Any) -> list[RouteSpec]:
    specs, undeclared = [], []
    for context in iter_route_contexts(app.routes):
        original = context.original_route
        path = context.path
        if path in PUBLIC_PATHS:
            continue
        if isinstance(original, Mount):
            kind = getattr(original.app, "auth_kind", None)
            if kind is None:
                undeclared.append(f"mount {path}")
            continue
        if isinstance(original, Route) and hasattr(original.endpoint, "auth_kind"):
            # A plain ASGI endpoint (the MCP server's): its JSON-RPC body is not a schema.
            endpoint = original.endpoint
            specs.append(RouteSpec("POST", path, endpoint.auth_kind, endpoint.scopes, False))
            continue
        if not isinstance(original, APIRoute):
            undeclared.append(f"route {path} ({type(original).__name__})")
            continue
        declarations = auth_declarations(context)
        if len(declarations) != 1:
            undeclared.append(f"{sorted(context.methods)} {path}: {len(declarations)} kinds")
            continue
        (declared,) = declarations
        scopes = getattr(declared, "scopes", frozenset())
        for method in sorted(context.methods):
            specs.append(
                RouteSpec(method, path, declared.auth_kind, scopes, context.body_field is not None)
            )
    assert undeclared == [], "every route and mount declares its auth kind"
    return specs


def test_every_route_and_mount_declares_its_auth_kind(app):
    paths = {spec.path for spec in route_specs(app)}
    assert {
        "/api/ai/me",
        "/api/ai/keys",
        "/api/lilli/chat",
        "/api/ai/routing/evaluate",
        "/api/ai/mcp",
    } <= paths


def test_the_walk_refuses_a_route_without_a_kind(app):
    app.add_api_route("/api/ai/forgotten", lambda: {"open": True}, methods=["GET"])
    with pytest.raises(AssertionError, match="declares its auth kind"):
        route_specs(app)


def test_no_route_dependency_runs_in_the_threadpool(app):
    """FastAPI runs plain ``def`` dependencies in a worker thread: a costly hop per request."""
    sync = set()
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute) or context.path in PUBLIC_PATHS:
            continue
        stack = [context.dependant]
        while stack:
            dependant = stack.pop()
            call = dependant.call
            if call is not None:
                target = call.__call__ if not inspect.isroutine(call) else call
                if not inspect.iscoroutinefunction(target) and not inspect.isasyncgenfunction(
                    target
                ):
                    sync.add(f"{context.path}: {getattr(call, '__name__', call)!r}")
            stack.extend(dependant.dependencies)
    assert sync == set()


# --- what each kind implies ------------------------------------------------------------------


@pytest.fixture
async def client(database_url, session_factory):
    """The app with room for the walk's many failed authentications from one address."""
    settings = make_settings(
        database_url,
        ratelimit=RateLimitSettings(ratelimit_auth_failures="100000/minute", _env_file=None),
    )
    application = create_app(
        settings,
        database=DatabaseTarget(database_url, embedded=False),
        session_factory=session_factory,
    )
    async with application.router.lifespan_context(application):
        transport = ASGITransport(app=application)
        async with AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


@dataclass
class Caller:
    """Credentials of shop A, and objects of shop B to ask for by id."""

    full_key: dict[str, str]
    owner_session: dict[str, str]
    keys_without: Callable[[frozenset[str]], Awaitable[dict[str, str]]]
    other_shops_objects: dict[str, str]


@pytest.fixture
async def caller(db) -> Caller:
    shop, other = await create_shop(db), await create_shop(db)
    owner = await create_user(db)
    await add_member(db, shop, owner, "owner")
    _, full = await issue_key(db, shop)
    other_key_id, _ = await issue_key(db, other)
    theirs_rule = await create_rule_row(db, other)
    theirs_conversation = await create_conversation(db, other)
    theirs_customer = await create_customer(db, other)
    theirs_order = await create_order(db, other, customer_id=theirs_customer.id)
    theirs_integration = await create_integration(db, other)
    theirs_support_event = await create_support_event(db, other)
    theirs_task = await create_support_task(db, other, event=theirs_support_event)
    theirs_support_rule = await create_support_rule(db, other)
    theirs_endpoint = await create_endpoint_row(db, other)
    theirs_event = await create_event_row(db, other)
    theirs_product = await create_product(db, other)
    theirs_generation = await create_generation_row(db, other)
    theirs_call = await create_voice_call(db, other)

    async def keys_without(scopes: frozenset[str]) -> dict[str, str]:
        _, secret = await issue_key(db, shop, sorted(ALL_SCOPES - scopes))
        return key_headers(secret)

    return Caller(
        full_key=key_headers(full),
        owner_session=bearer(await database_session(db, owner.id)),
        keys_without=keys_without,
        other_shops_objects={
            "key_id": str(other_key_id),
            "rule_id": str(theirs_rule.id),
            "conversation_id": str(theirs_conversation.id),
            "order_id": str(theirs_order.id),
            "customer_id": str(theirs_customer.id),
            "integration_id": str(theirs_integration.id),
            "support_event_id": str(theirs_support_event.id),
            "task_id": str(theirs_task.id),
            "support_rule_id": str(theirs_support_rule.id),
            "endpoint_id": str(theirs_endpoint.id),
            "event_id": str(theirs_event.id),
            "product_id": str(theirs_product.id),
            "generation_id": str(theirs_generation.id),
            "voice_call_id": str(theirs_call.id),
        },
    )


def _fill(path: str, values: dict[str, str] | None = None) -> str:
    def value(match: re.Match[str]) -> str:
        if values is None:
            return str(uuid.uuid4())
        name = match.group(1)
        assert name in values, f"add an object of another shop for {{{name}}} to the fixture"
        return values[name]

    return re.sub(r"\{([^}]+)\}", value, path)


async def _send_twice(client, spec: RouteSpec, path: str, **kwargs: Any) -> list[Any]:
    return [await client.request(spec.method, path, **kwargs) for _ in range(SENT)]


def _body(spec: RouteSpec) -> dict[str, Any] | None:
    if not spec.has_body:
        return None
    key = (spec.method, spec.path)
    assert key in VALID_BODIES, f"add a valid body for {key} to VALID_BODIES"
    return VALID_BODIES[key]


def _credentials(spec: RouteSpec, caller: Caller) -> dict[str, str]:
    return caller.owner_session if spec.kind is AuthKind.SESSION else caller.full_key


async def test_no_credentials_is_401(app, client):
    failures = []
    for spec in route_specs(app):
        for response in await _send_twice(client, spec, _fill(spec.path), json=_body(spec)):
            if response.status_code != 401 or response.json()["error"]["code"] != "unauthorized":
                failures.append(f"{spec.method} {spec.path} → {response.status_code}")
            elif "www-authenticate" not in response.headers:
                failures.append(f"{spec.method} {spec.path}: no WWW-Authenticate")
    assert failures == []


async def test_a_key_without_the_routes_scope_or_kind_is_403(app, client, caller):
    failures, checked = [], 0
    for spec in route_specs(app):
        if spec.kind is AuthKind.SESSION:
            headers, code = caller.full_key, "session_required"
        elif spec.kind is AuthKind.API_KEY and not spec.scopes:
            headers, code = caller.owner_session, "api_key_required"
        elif spec.kind in (AuthKind.API_KEY, AuthKind.SESSION_OR_KEY) and spec.scopes:
            headers, code = await caller.keys_without(spec.scopes), "insufficient_scope"
        else:
            continue
        checked += 1
        path = _fill(spec.path)
        for response in await _send_twice(client, spec, path, json=_body(spec), headers=headers):
            if response.status_code != 403 or response.json()["error"]["code"] != code:
                failures.append(f"{spec.method} {spec.path} → {response.status_code}")
    assert failures == []
    assert checked > 10


async def test_another_shops_object_is_404(app, client, caller):
    failures, checked = [], 0
    for spec in route_specs(app):
        if "{" not in spec.path or spec.kind is AuthKind.SIGNED_WEBHOOK:
            continue
        checked += 1
        path = _fill(spec.path, caller.other_shops_objects)
        headers = _credentials(spec, caller)
        for response in await _send_twice(client, spec, path, json=_body(spec), headers=headers):
            if response.status_code != 404:
                failures.append(f"{spec.method} {spec.path} → {response.status_code}")
    assert failures == []
    assert checked >= 9


async def test_an_unknown_body_field_is_422_naming_it(app, client, caller):
    failures, checked = [], 0
    for spec in route_specs(app):
        if not spec.has_body or spec.kind is AuthKind.SIGNED_WEBHOOK:
            continue
        checked += 1
        body = {**(_body(spec) or {}), "unknownField": 1}
        headers = _credentials(spec, caller)
        for response in await _send_twice(
            client, spec, _fill(spec.path), json=body, headers=headers
        ):
            fields = (
                [detail["field"] for detail in response.json()["error"]["details"]]
                if response.status_code == 422
                else []
            )
            if "body.unknownField" not in fields:
                failures.append(f"{spec.method} {spec.path} → {response.status_code} {fields}")
    assert failures == []
    assert checked >= 8


def test_access_authenticates_principals_not_webhooks():
    assert Access(AuthKind.API_KEY).auth_kind is AuthKind.API_KEY
    with pytest.raises(ValueError):
        Access(AuthKind.SIGNED_WEBHOOK)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
async def test_operations_routes_stay_open(client, path):
    assert (await client.get(path)).status_code == 200
