"""Direct dispatch answers exactly as FastAPI does, for success and for every kind of error."""

from __future__ import annotations

from typing import Any

import pytest

from bloomer_ai.kit.direct import direct_plan
from factories.core import create_shop
from support.auth import issue_key, key_headers

EVALUATE = "/api/ai/routing/evaluate"
RULE = {
    "name": "Big orders are urgent",
    "priority": 20,
    "conditions": {">=": [{"var": "total"}, 10000]},
    "action": {"type": "prioritize", "level": "urgent"},
}
ORDER = {
    "deliveryZone": "north",
    "items": [{"productType": "bouquet", "quantity": 2, "unitPrice": 6000}],
}
# Headers whose presence (not value: counters move) must be the same on both paths.
COMPARED_HEADERS = ("content-type", "content-length", "www-authenticate", "ratelimit-limit", "vary")


@pytest.fixture
async def keys(db) -> dict[str, dict[str, str]]:
    shop = await create_shop(db)
    _, full = await issue_key(db, shop)
    _, reader = await issue_key(db, shop, ["routing:read"])
    return {"full": key_headers(full), "reader": key_headers(reader), "none": {}}


def cases(keys: dict[str, dict[str, str]]) -> list[tuple[str, str, dict[str, Any]]]:
    json_headers = {**keys["full"], "Content-Type": "application/json"}
    return [
        ("GET", "/api/ai/me", {"headers": keys["full"]}),
        ("GET", "/api/ai/me", {}),
        ("GET", "/api/ai/me", {"headers": {"Authorization": "Bearer blm_nope_nope"}}),
        ("POST", EVALUATE, {"headers": keys["full"], "json": ORDER}),
        ("POST", f"{EVALUATE}?explain=true", {"headers": keys["full"], "json": ORDER}),
        ("POST", f"{EVALUATE}?explain=perhaps", {"headers": keys["full"], "json": ORDER}),
        ("POST", EVALUATE, {"headers": keys["full"], "json": {"items": "many"}}),
        ("POST", EVALUATE, {"headers": keys["full"], "json": {"orderId": "not-an-id"}}),
        ("POST", EVALUATE, {"headers": json_headers, "content": b'{"items": ['}),
        ("POST", EVALUATE, {"headers": json_headers, "content": b""}),
        (
            "POST",
            EVALUATE,
            {"headers": {**keys["full"], "Content-Type": "text/plain"}, "content": b"x"},
        ),
        ("POST", EVALUATE, {"json": {"items": "many"}}),  # no credentials and a bad body: 401
        ("POST", EVALUATE, {"headers": keys["reader"], "json": ORDER}),  # scope missing: 403
        ("POST", EVALUATE, {"headers": keys["full"], "json": [1, 2]}),
        ("POST", EVALUATE, {"headers": json_headers, "content": b'{"items": [], "total": 1e999}'}),
        ("POST", EVALUATE, {"headers": json_headers, "content": b'{"deliveryZone": "\xff"}'}),
        ("POST", EVALUATE, {"headers": json_headers, "content": b'{"total": NaN}'}),
        ("POST", EVALUATE, {"headers": json_headers, "content": b"null"}),
        (
            "POST",
            EVALUATE,
            {"headers": keys["full"], "json": {**ORDER, "deliveryDate": "2027-02-30"}},
        ),
        ("POST", EVALUATE, {"headers": keys["full"], "json": {**ORDER, "total": "12"}}),
    ]


async def answers(client, keys) -> list[tuple[int, Any, dict[str, bool]]]:
    collected = []
    for method, path, options in cases(keys):
        response = await client.request(method, path, **options)
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        presence = {name: name in response.headers for name in COMPARED_HEADERS}
        collected.append((response.status_code, body, presence))
    return collected


async def test_direct_answers_equal_fastapis(app, client, keys):
    response = await client.post("/api/ai/routing/rules", json=RULE, headers=keys["full"])
    assert response.status_code == 201
    direct = app.state.direct_routes

    direct.enabled = False
    through_fastapi = await answers(client, keys)
    direct.enabled = True
    await answers(client, keys)  # the first request of each pair teaches the table
    assert {("GET", "/api/ai/me"), ("POST", EVALUATE)} <= set(direct.endpoints)
    served_directly = await answers(client, keys)

    assert served_directly == through_fastapi
    statuses = [status for status, _, _ in through_fastapi]
    assert statuses[:14] == [200, 401, 401, 200, 200, 422, 422, 404, 422, 422, 415, 401, 403, 422]
    assert statuses[15] == 400  # bytes that are not UTF-8


async def test_overridden_dependencies_go_through_fastapi(app, client, keys):
    from bloomer_ai.kit.features import require_feature

    await client.get("/api/ai/me", headers=keys["full"])
    assert ("GET", "/api/ai/me") in app.state.direct_routes.endpoints
    app.dependency_overrides[require_feature] = lambda: None  # any override at all
    try:
        response = await client.get("/api/ai/me", headers=keys["full"])
        assert response.status_code == 200
        assert response.json()["kind"] == "api_key"
    finally:
        app.dependency_overrides.clear()


def test_routes_that_do_not_qualify_say_why(app):
    by_path = {}
    for route in app.routes:
        for sub in getattr(getattr(route, "original_router", None), "routes", [route]):
            by_path[
                (getattr(sub, "path", None), tuple(sorted(getattr(sub, "methods", ()) or ())))
            ] = sub
    rule_route = by_path[("/api/ai/routing/rules/{rule_id}", ("GET",))]
    assert direct_plan(rule_route) == "the path has parameters"
    assert direct_plan(by_path[("/healthz", ("GET",))]) == "not a JsonRoute"
    assert not isinstance(direct_plan(by_path[("/api/ai/me", ("GET",))]), str)
