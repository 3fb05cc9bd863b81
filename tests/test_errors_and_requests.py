"""The one error shape, request ids, body limits and content types (BLMR-AI-601, DESIGN.md §3).

Domain routes do not exist yet, so each test mounts a small test-only router on the real
application built by ``create_app``: the middleware, route class and exception handlers
under test are the production ones.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Query
from httpx import ASGITransport, AsyncClient, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from bloomer_ai.auth.dependencies import Access, AuthKind
from bloomer_ai.config import FeatureSettings, ServerSettings, Settings
from bloomer_ai.db.engine import DatabaseTarget
from bloomer_ai.db.tenancy import bind_shop
from bloomer_ai.main import create_app
from bloomer_ai.models import Order
from bloomer_ai.web.routes import JsonRoute
from bloomer_ai.web.unit_of_work import ShopSession as DbSession
from conftest import make_settings
from factories.core import create_shop

BODY_LIMIT = 4096
SECRET_IN_ERROR = "hunter2-very-secret"


class LineItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    quantity: int = Field(ge=1)

    @field_validator("name")
    @classmethod
    def not_only_spaces(cls, name: str) -> str:
        if not name.strip():
            raise ValueError("a name needs a letter, not only spaces")
        return name


class Basket(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = ""
    items: list[LineItem]


class NewOrder(BaseModel):
    shop_id: uuid.UUID
    number: str


def build_router() -> APIRouter:
    router = APIRouter(prefix="/test", route_class=JsonRoute)

    @router.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    @router.post("/basket")
    async def basket(body: Basket) -> dict[str, Any]:
        return {"items": len(body.items), "noteLength": len(body.note)}

    @router.get("/search")
    async def search(
        limit: Annotated[int, Query(ge=1)] = 10,
        x_shop_hint: Annotated[str | None, Header(max_length=3)] = None,
    ) -> dict[str, int]:
        return {"limit": limit}

    @router.delete("/gone-meanwhile/{rule_id}")
    async def gone_meanwhile(rule_id: str, session: DbSession) -> dict[str, str]:
        # What an update or delete meets when another request deleted its row between
        # this one's read and its write: the ORM's row-count check fails.
        raise StaleDataError(
            f"UPDATE statement on table 'x' expected to update 1 row(s); {rule_id}"
        )

    @router.get("/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError(f"unexpected: password={SECRET_IN_ERROR}")

    @router.get("/bad-sql")
    async def bad_sql(session: DbSession) -> dict[str, str]:
        await session.execute(
            text(f"select * from no_such_table where secret = '{SECRET_IN_ERROR}'")
        )
        return {"unreachable": "yes"}

    @router.post("/orders-twice")
    async def orders_twice(body: NewOrder, session: DbSession) -> dict[str, str]:
        bind_shop(session.sync_session, body.shop_id)
        session.add(Order(number=body.number))
        await session.flush()
        # The same number again in the same shop: the unique constraint refuses it.
        session.add(Order(number=body.number))
        await session.flush()
        return {"unreachable": "yes"}

    return router


def build_routing_router() -> APIRouter:
    router = APIRouter(
        prefix="/test-routing",
        route_class=JsonRoute,
        dependencies=[Depends(Access(AuthKind.SESSION_OR_KEY, feature="routing"))],
    )

    @router.get("/rules")
    async def rules() -> dict[str, list[str]]:
        return {"items": []}

    return router


@asynccontextmanager
async def serve(
    settings: Settings,
    database_url: URL,
    session_factory: async_sessionmaker[AsyncSession],
    *routers: APIRouter,
) -> AsyncIterator[AsyncClient]:
    app: FastAPI = create_app(
        settings,
        database=DatabaseTarget(database_url, embedded=False),
        session_factory=session_factory,
    )
    for router in routers:
        app.include_router(router)
    async with app.router.lifespan_context(app):
        # The server, not the client, sees exceptions that escape the app: look at responses.
        transport = ASGITransport(app=app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.fixture
async def client(
    database_url: URL, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[AsyncClient]:
    settings = make_settings(
        database_url,
        server=ServerSettings(environment="test", max_request_bytes=BODY_LIMIT, _env_file=None),
    )
    async with serve(settings, database_url, session_factory, build_router()) as client:
        yield client


def assert_error_shape(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    assert response.headers.get("x-request-id")
    return error


# --- 404 / 405 ----------------------------------------------------------------------------


async def test_unknown_route_is_404_in_the_error_shape(client: AsyncClient) -> None:
    response = await client.get("/no/such/route")
    assert_error_shape(response, 404, "not_found")


async def test_wrong_method_is_405_in_the_error_shape(client: AsyncClient) -> None:
    response = await client.delete("/test/ping")
    assert_error_shape(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


# --- X-Request-ID -------------------------------------------------------------------------


async def test_request_id_is_generated_when_absent(client: AsyncClient) -> None:
    first = await client.get("/test/ping")
    second = await client.get("/test/ping")
    assert first.status_code == 200
    assert re.fullmatch(r"[A-Za-z0-9._:-]{8,128}", first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_request_id_is_echoed_when_sent(client: AsyncClient) -> None:
    sent = f"req-{uuid.uuid4()}"
    ok = await client.get("/test/ping", headers={"X-Request-ID": sent})
    missing = await client.get("/nowhere", headers={"X-Request-ID": sent})
    assert ok.headers["x-request-id"] == sent
    assert missing.status_code == 404
    assert missing.headers["x-request-id"] == sent


@pytest.mark.parametrize(
    "unsafe",
    ["has spaces in it", "<script>alert(1)</script>", "x" * 300, "semi;colon", ""],
)
async def test_unsafe_request_id_is_replaced(client: AsyncClient, unsafe: str) -> None:
    response = await client.get("/test/ping", headers={"X-Request-ID": unsafe})
    assert response.status_code == 200
    returned = response.headers["x-request-id"]
    assert returned and returned != unsafe
    assert re.fullmatch(r"[A-Za-z0-9._:-]{8,128}", returned)
    assert response.headers.get_list("x-request-id") == [returned]


async def test_every_kind_of_response_carries_a_request_id(client: AsyncClient) -> None:
    responses = [
        await client.get("/test/ping"),
        await client.get("/nowhere"),
        await client.put("/test/ping"),
        await client.post(
            "/test/basket", content=b"{", headers={"content-type": "application/json"}
        ),
        await client.post("/test/basket", content=b"x" * (BODY_LIMIT + 1)),
        await client.get("/test/boom"),
        await client.get("/healthz"),
    ]
    assert [r.status_code for r in responses] == [200, 404, 405, 422, 413, 500, 200]
    for response in responses:
        assert response.headers.get_list("x-request-id"), response.status_code


# --- body size ----------------------------------------------------------------------------


def basket_of(size: int) -> bytes:
    """A valid JSON basket of exactly ``size`` bytes."""
    prefix, suffix = b'{"items": [{"name": "Roses", "quantity": 1}], "note": "', b'"}'
    return prefix + b"n" * (size - len(prefix) - len(suffix)) + suffix


async def test_body_at_the_limit_is_accepted(client: AsyncClient) -> None:
    body = basket_of(BODY_LIMIT)
    assert len(body) == BODY_LIMIT
    response = await client.post(
        "/test/basket", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["items"] == 1


async def test_body_over_the_limit_with_content_length_is_413(client: AsyncClient) -> None:
    body = basket_of(BODY_LIMIT + 1)
    response = await client.post(
        "/test/basket", content=body, headers={"content-type": "application/json"}
    )
    assert response.request.headers["content-length"] == str(BODY_LIMIT + 1)
    error = assert_error_shape(response, 413, "payload_too_large")
    assert f"limit of {BODY_LIMIT} bytes" in error["message"]


async def test_declared_length_over_the_limit_is_413_even_on_a_get(client: AsyncClient) -> None:
    response = await client.request("GET", "/test/ping", content=b"x" * (BODY_LIMIT * 2))
    assert_error_shape(response, 413, "payload_too_large")


async def test_streamed_body_over_the_limit_without_content_length_is_413(
    client: AsyncClient,
) -> None:
    sent_chunks = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent_chunks
        yield b'{"items": [], "note": "'
        for _ in range(8):
            sent_chunks += 1
            yield b"n" * 1024
        yield b'"}'

    response = await client.post(
        "/test/basket", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_error_shape(response, 413, "payload_too_large")
    # Reading stopped once the limit was crossed; the rest of the body was never pulled.
    assert 4 <= sent_chunks < 8


async def test_streamed_body_under_the_limit_is_accepted(client: AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"items": [{"name": "Tulips", '
        yield b'"quantity": 3}], "note": "'
        yield b"n" * 1000
        yield b'"}'

    response = await client.post(
        "/test/basket", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"items": 1, "noteLength": 1000}


# --- content type and JSON ----------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_non_json_body_on_a_json_route_is_415(
    client: AsyncClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post(
        "/test/basket",
        content=b'{"items": [{"name": "Roses", "quantity": 1}]}',
        headers=headers,
    )
    assert_error_shape(response, 415, "unsupported_media_type")


async def test_json_with_charset_and_suffix_types_is_accepted(client: AsyncClient) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = await client.post(
            "/test/basket",
            content=b'{"items": [{"name": "Roses", "quantity": 1}]}',
            headers={"content-type": content_type},
        )
        assert response.status_code == 200, (content_type, response.text)


async def test_malformed_json_is_422_with_details(client: AsyncClient) -> None:
    response = await client.post(
        "/test/basket",
        content=b'{"items": [{"name": "Roses",',
        headers={"content-type": "application/json"},
    )
    error = assert_error_shape(response, 422, "validation_error")
    assert len(error["details"]) == 1
    detail = error["details"][0]
    assert detail["type"] == "json_invalid"
    # Where (the body), what (not JSON, and why) and at which character.
    assert detail["field"] == "body"
    assert detail["message"].startswith("the body is not valid JSON: ")
    assert detail["message"].endswith(" at character 28")


async def test_a_validator_message_reads_without_pydantic_prefix(client: AsyncClient) -> None:
    response = await client.post("/test/basket", json={"items": [{"name": "  ", "quantity": 1}]})
    error = assert_error_shape(response, 422, "validation_error")
    assert error["details"] == [
        {
            "field": "body.items[0].name",
            "message": "a name needs a letter, not only spaces",
            "type": "value_error",
        }
    ]


async def test_query_and_header_faults_say_where(client: AsyncClient) -> None:
    response = await client.get("/test/search?limit=many", headers={"x-shop-hint": "x" * 5})
    error = assert_error_shape(response, 422, "validation_error")
    assert {detail["field"] for detail in error["details"]} == {
        "query.limit",
        "header.x-shop-hint",
    }


async def test_validation_error_is_422_with_the_field_path(client: AsyncClient) -> None:
    response = await client.post(
        "/test/basket",
        json={"items": [{"name": "Roses", "quantity": 1}, {"name": "", "quantity": 0}]},
    )
    error = assert_error_shape(response, 422, "validation_error")
    fields = {detail["field"] for detail in error["details"]}
    assert fields == {"body.items[1].name", "body.items[1].quantity"}
    for detail in error["details"]:
        assert set(detail) >= {"field", "message", "type"}


async def test_missing_and_unknown_fields_are_named(client: AsyncClient) -> None:
    response = await client.post("/test/basket", json={"colour": "red"})
    error = assert_error_shape(response, 422, "validation_error")
    by_field = {detail["field"]: detail["type"] for detail in error["details"]}
    assert by_field == {"body.items": "missing", "body.colour": "extra_forbidden"}


# --- 500 and 409 --------------------------------------------------------------------------


def assert_nothing_leaks(response: Response) -> None:
    lowered = response.text.lower()
    for leak in (
        SECRET_IN_ERROR,
        "traceback",
        "runtimeerror",
        "select ",
        "no_such_table",
        'file "',
    ):
        assert leak.lower() not in lowered, leak


async def test_unexpected_exception_is_500_without_internals(client: AsyncClient) -> None:
    response = await client.get("/test/boom")
    assert_error_shape(response, 500, "internal_error")
    assert_nothing_leaks(response)


async def test_database_error_is_500_without_sql(client: AsyncClient) -> None:
    response = await client.get("/test/bad-sql")
    assert_error_shape(response, 500, "internal_error")
    assert_nothing_leaks(response)
    # The app still answers afterwards (the failed transaction was rolled back).
    assert (await client.get("/test/ping")).status_code == 200


async def test_integrity_error_of_a_known_constraint_is_409(
    client: AsyncClient, db: AsyncSession
) -> None:
    shop = await create_shop(db)
    number = f"twice-{uuid.uuid4().hex[:8]}"
    response = await client.post(
        "/test/orders-twice", json={"shop_id": str(shop.id), "number": number}
    )
    error = assert_error_shape(response, 409, "order_number_taken")
    assert "uq_orders_shop_id_number" not in response.text
    assert "duplicate key" not in response.text.lower()
    assert error["details"] == []
    # The request's unit of work was rolled back: not even the first row stayed.
    count = await db.scalar(text("select count(*) from orders where number = :n"), {"n": number})
    assert count == 0


# --- feature flags ------------------------------------------------------------------------


async def test_switched_off_feature_answers_404_feature_disabled(
    database_url: URL, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    settings = make_settings(
        database_url, features=FeatureSettings(ai_routing_enabled=False, _env_file=None)
    )
    async with serve(settings, database_url, session_factory, build_routing_router()) as client:
        response = await client.get("/test-routing/rules")
        assert_error_shape(response, 404, "feature_disabled")
        # Only the switched-off feature is affected.
        assert (await client.get("/healthz")).status_code == 200


async def test_switched_on_feature_answers(
    database_url: URL, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    settings = make_settings(
        database_url, features=FeatureSettings(ai_routing_enabled=True, _env_file=None)
    )
    async with serve(settings, database_url, session_factory, build_routing_router()) as client:
        response = await client.get("/test-routing/rules")
        # Past the feature check: the route's own auth answers.
        assert_error_shape(response, 401, "unauthorized")


async def test_a_row_deleted_meanwhile_is_a_404_not_a_500(client: AsyncClient) -> None:
    response = await client.delete("/test/gone-meanwhile/some-rule")
    error = assert_error_shape(response, 404, "not_found")
    assert "deleted by another request" in error["message"]
    assert "UPDATE statement" not in response.text
