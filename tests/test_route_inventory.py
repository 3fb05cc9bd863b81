"""Every /api/ai route (and the /api/lilli alias) declares auth and a rate limit.

The inventory is read from the app's own route table, so a route added tomorrow is
checked without anyone remembering to add it here.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from bloomer_ai.auth.dependencies import Access

PROTECTED_PREFIXES = ("/api/ai", "/api/lilli")


def _access_of(route: APIRoute) -> list[Access]:
    found: list[Access] = []
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        if isinstance(dependant.call, Access):
            found.append(dependant.call)
        stack.extend(dependant.dependencies)
    return found


def all_routes(app: Any) -> list[Any]:
    # FastAPI keeps included routers lazily; this yields the effective routes (full paths,
    # router dependencies merged). Private, so test_inventory_is_not_empty guards it.
    from fastapi.routing import _iter_included_route_candidates

    return list(_iter_included_route_candidates(app.routes))


def protected_routes(app: Any) -> list[tuple[str, APIRoute]]:
    routes = []
    for route in all_routes(app):
        if isinstance(route, APIRoute) and route.path.startswith(PROTECTED_PREFIXES):
            for method in sorted(route.methods):
                routes.append((method, route))
    return routes


def test_inventory_is_not_empty(app):
    paths = {route.path for _, route in protected_routes(app)}
    assert "/api/ai/me" in paths
    assert "/api/ai/keys" in paths


def test_every_protected_route_declares_auth_and_a_rate_limit(app):
    """Access authenticates and rate-limits, so a route needs exactly one: none is an open
    route, two would count every request twice against its limit."""
    wrong = [
        f"{method} {route.path}: {len(accesses)} Access dependencies"
        for method, route in protected_routes(app)
        if len(accesses := _access_of(route)) != 1
    ]
    assert wrong == []


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


async def test_every_protected_route_is_401_without_credentials(app, client):
    failures = []
    for method, route in protected_routes(app):
        response = await client.request(method, _fill(route.path), json={})
        if response.status_code != 401:
            failures.append(f"{method} {route.path} → {response.status_code}")
        elif response.json()["error"]["code"] != "unauthorized":
            failures.append(f"{method} {route.path}: wrong error body")
    assert failures == []


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
async def test_operations_routes_stay_open(client, path):
    assert (await client.get(path)).status_code == 200


# Every route that names a shop-owned resource in its path has a test that asks for
# another shop's resource and gets 404. A new route of that kind fails here until it has one.
_KEYS = "auth/test_access.py::test_revoking_another_shops_key_is_404"
_RULES = "routing/test_rules_api.py::test_another_shops_rules_are_404"
_CONVERSATIONS = "agent/test_conversations_api.py::test_another_shops_conversation_is_404"
CROSS_SHOP_TESTS = {
    "DELETE /api/ai/keys/{key_id}": _KEYS,
    "GET /api/ai/routing/rules/{rule_id}": _RULES,
    "PATCH /api/ai/routing/rules/{rule_id}": _RULES,
    "DELETE /api/ai/routing/rules/{rule_id}": _RULES,
    "GET /api/ai/conversations/{conversation_id}": _CONVERSATIONS,
    "DELETE /api/ai/conversations/{conversation_id}": _CONVERSATIONS,
    "POST /api/ai/conversations/{conversation_id}/messages": _CONVERSATIONS,
}


def test_every_resource_route_has_a_cross_shop_test(app):
    tests_dir = Path(__file__).resolve().parent
    routes = {
        f"{method} {route.path}" for method, route in protected_routes(app) if "{" in route.path
    }
    assert routes == set(CROSS_SHOP_TESTS), "add the route's cross-shop 404 test to the table"
    for reference in CROSS_SHOP_TESTS.values():
        file_name, test_name = reference.split("::")
        assert f"def {test_name}(" in (tests_dir / file_name).read_text(), reference


def test_no_route_dependency_runs_in_the_threadpool(app):
    """FastAPI runs plain ``def`` dependencies in a worker thread: a costly hop per request."""
    import inspect

    sync = set()
    for method, route in protected_routes(app):
        stack = [route.dependant]
        while stack:
            dependant = stack.pop()
            call = dependant.call
            if call is not None:
                target = call.__call__ if not inspect.isroutine(call) else call
                if not inspect.iscoroutinefunction(target) and not inspect.isasyncgenfunction(
                    target
                ):
                    sync.add(f"{method} {route.path}: {getattr(call, '__name__', call)!r}")
            stack.extend(dependant.dependencies)
    assert sync == set()
