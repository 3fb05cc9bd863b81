"""Direct dispatch answers exactly as FastAPI does, for success and for every kind of error."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from httpx import ASGITransport, AsyncClient

from bloomer_ai.auth.dependencies import Access
from bloomer_ai.auth.errors import InsufficientScope
from bloomer_ai.auth.principal import Principal, PrincipalKind
from bloomer_ai.kit.direct import DirectRoutes, direct_plan
from bloomer_ai.kit.http import JsonRoute, install_exception_handlers
from bloomer_ai.kit.schemas import Schema
from factories.core import create_shop
from support.auth import issue_key, key_headers
from support.routing import BIG_ORDERS, EVALUATE, ORDER

# Headers whose presence (not value: counters move) must be the same on both paths.
COMPARED_HEADERS = ("content-type", "content-length", "www-authenticate", "ratelimit-limit", "vary")


@pytest.fixture
async def keys(db) -> dict[str, dict[str, str]]:
    shop = await create_shop(db)
    _, full = await issue_key(db, shop)
    _, reader = await issue_key(db, shop, ["routing:read"])
    return {
        "full": key_headers(full),
        "reader": key_headers(reader),
        "none": {},
        "shop_id": shop.id,  # type: ignore[dict-item]
    }


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


async def answers(client, keys) -> list[tuple[int, bytes, dict[str, bool]]]:
    collected = []
    for method, path, options in cases(keys):
        response = await client.request(method, path, **options)
        presence = {name: name in response.headers for name in COMPARED_HEADERS}
        collected.append((response.status_code, response.content, presence))
    return collected


async def test_direct_answers_equal_fastapis(app, client, keys):
    response = await client.post("/api/ai/routing/rules", json=BIG_ORDERS, headers=keys["full"])
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
    """While overrides are set, FastAPI answers: the overridden principal shows in /me."""
    await client.get("/api/ai/me", headers=keys["full"])
    assert ("GET", "/api/ai/me") in app.state.direct_routes.endpoints
    (me_route,) = [
        route
        for router in app.routes
        for route in getattr(getattr(router, "original_router", None), "routes", [router])
        if getattr(route, "path", None) == "/api/ai/me"
    ]
    (access,) = [d.call for d in me_route.dependant.dependencies if isinstance(d.call, Access)]
    stand_in = Principal(
        kind=PrincipalKind.API_KEY,
        shop_id=keys["shop_id"],
        scopes=frozenset(),
        api_key_id=uuid.uuid4(),
        api_key_name="overridden",
    )
    app.dependency_overrides[access] = lambda: stand_in
    try:
        response = await client.get("/api/ai/me", headers=keys["full"])
    finally:
        app.dependency_overrides.clear()
    assert response.status_code == 200
    assert response.json()["key"]["name"] == "overridden"
    again = await client.get("/api/ai/me", headers=keys["full"])
    assert again.json()["key"]["name"] == "test key"


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


@pytest.mark.parametrize("prefix", ["", "/v1"])
async def test_an_included_routers_own_prefix_and_dependencies_are_kept(prefix: str) -> None:
    """FastAPI runs an included route with the include's prefix and dependencies; so must
    the direct path (it learns what FastAPI ran, not the bare route definition)."""
    calls: list[str] = []

    async def include_level_check(request: Request) -> None:
        calls.append(request.url.path)
        if request.headers.get("x-allowed") != "yes":
            raise InsufficientScope()

    router = APIRouter(route_class=JsonRoute)

    @router.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    app = FastAPI()
    install_exception_handlers(app)
    app.include_router(router, prefix=prefix, dependencies=[Depends(include_level_check)])
    app.add_middleware(DirectRoutes, fastapi_app=app)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        for _ in range(3):
            allowed = await client.get(f"{prefix}/ping", headers={"x-allowed": "yes"})
            assert allowed.status_code == 200
            assert (await client.get(f"{prefix}/ping")).status_code == 403
    assert ("GET", f"{prefix}/ping") in app.state.direct_routes.endpoints
    assert len(calls) == 6  # the include's dependency ran on every request, direct or not


class _Reply(Schema):
    delivery_zone: str
    note: str | None = None
    hidden: int = 0


async def test_a_returned_response_model_is_rendered_with_the_routes_options() -> None:
    """An instance of the route's own response model is serialised at once on the direct
    path: with the route's options (aliases, exclusions), in the bytes FastAPI renders."""
    router = APIRouter(route_class=JsonRoute)

    @router.get(
        "/reply",
        response_model=_Reply,
        response_model_exclude_none=True,
        response_model_exclude={"hidden"},
    )
    async def reply() -> _Reply:
        return _Reply(delivery_zone="ñorth", hidden=7)

    @router.get("/dict", response_model=_Reply)
    async def as_dict() -> dict[str, Any]:  # not an instance: FastAPI's own path
        return {"delivery_zone": "south", "note": "x"}

    app = FastAPI()
    app.include_router(router)
    app.add_middleware(DirectRoutes, fastapi_app=app)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        first = [await client.get(path) for path in ("/reply", "/dict")]
        direct = [await client.get(path) for path in ("/reply", "/dict")]
    assert {("GET", "/reply"), ("GET", "/dict")} <= set(app.state.direct_routes.endpoints)
    for through_fastapi, served_directly in zip(first, direct, strict=True):
        assert served_directly.content == through_fastapi.content
        assert served_directly.headers.raw == through_fastapi.headers.raw
    assert direct[0].content == '{"deliveryZone":"ñorth"}'.encode()
    assert direct[1].json() == {"deliveryZone": "south", "note": "x", "hidden": 0}


async def test_a_mutable_query_default_is_a_fresh_copy_on_every_request() -> None:
    """As FastAPI copies a default for each request, so does the direct path: an endpoint
    that changes its list default never sees another request's change."""
    router = APIRouter(route_class=JsonRoute)

    @router.get("/tags")
    async def tags(tag: Annotated[list[str], Query()] = ["first"]) -> list[str]:  # noqa: B006
        tag.append("seen")
        return tag

    app = FastAPI()
    app.include_router(router)
    app.add_middleware(DirectRoutes, fastapi_app=app)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        answers = [(await client.get("/tags")).json() for _ in range(3)]
    assert ("GET", "/tags") in app.state.direct_routes.endpoints
    assert answers == [["first", "seen"]] * 3
