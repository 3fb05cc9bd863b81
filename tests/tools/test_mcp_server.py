"""The shop tools over MCP with the official SDK's Python client: tools listed by the
key's scopes, called on the key's shop only, bad arguments as tool errors, the same
authentication, rate limit and feature switch as every route."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp import ClientSession, MCPError
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import func, select

from bloomer_ai.models import Order, ToolCall
from factories.core import create_customer, create_order, create_shop
from factories.tools import create_product
from support.auth import issue_key, key_headers

URL = "http://testserver/api/ai/mcp"
HOURS = {
    "businessHours": {
        "weekly": {
            d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        }
    }
}


@asynccontextmanager
async def mcp_client(app: Any, headers: dict[str, str]) -> AsyncIterator[ClientSession]:
    transport = httpx2.ASGITransport(app=app)
    async with (
        httpx2.AsyncClient(transport=transport, headers=headers) as http,
        streamable_http_client(URL, http_client=http) as streams,
        ClientSession(streams[0], streams[1]) as session,
    ):
        await session.initialize()
        yield session


@pytest.fixture
async def world(db) -> dict[str, Any]:
    shop = await create_shop(db, name="Bloemen Anna", lilli_config=HOURS)
    other = await create_shop(db, name="Other", lilli_config=HOURS)
    anna = await create_customer(db, shop, phone="+31612345678")
    await create_order(db, shop, number="3001", customer_id=anna.id)
    theirs = await create_customer(db, other, phone="+31611112222")
    await create_order(db, other, number="4001", customer_id=theirs.id)
    await create_product(db, shop, name="Red roses")
    await create_product(db, other, name="Their roses")
    _, full = await issue_key(db, shop)
    _, other_full = await issue_key(db, other)
    _, reader = await issue_key(db, shop, ["shop:read"])
    return {
        "shop": shop,
        "other": other,
        "full": key_headers(full),
        "other_full": key_headers(other_full),
        "reader": key_headers(reader),
    }


def _payload(result: Any) -> dict[str, Any]:
    assert result.structured_content is not None
    assert json.loads(result.content[0].text) == result.structured_content
    return dict(result.structured_content)


async def test_tools_are_listed_by_the_keys_scopes(app, world):
    async with mcp_client(app, world["full"]) as session:
        listed = await session.list_tools()
        assert {tool.name for tool in listed.tools} == {
            "find_order",
            "opening_hours",
            "delivery_info",
            "search_products",
            "support_context",
            "place_order",
            "request_handoff",
        }
        find = next(tool for tool in listed.tools if tool.name == "find_order")
        assert set(find.input_schema["properties"]) == {"orderNumber", "phone"}
    async with mcp_client(app, world["reader"]) as session:
        listed = await session.list_tools()
        assert [tool.name for tool in listed.tools] == [
            "opening_hours",
            "delivery_info",
            "search_products",
        ]


async def test_a_tool_the_key_may_not_use_is_unknown_to_it(app, world, db):
    async with mcp_client(app, world["reader"]) as session:
        with pytest.raises(MCPError) as caught:
            await session.call_tool("find_order", {"orderNumber": "3001"})
        assert "Unknown tool" in caught.value.error.message
    recorded = await db.scalar(
        select(ToolCall).where(ToolCall.shop_id == world["shop"].id, ToolCall.tool == "find_order")
    )
    assert recorded is not None and recorded.error_code == "insufficient_scope"


async def test_calls_see_only_the_keys_shop(app, world):
    async with mcp_client(app, world["full"]) as session:
        mine = _payload(await session.call_tool("find_order", {"orderNumber": "3001"}))
        assert mine["found"] is True and mine["order"]["number"] == "3001"
        theirs = _payload(await session.call_tool("find_order", {"orderNumber": "4001"}))
        assert theirs == {"found": False}
        products = _payload(await session.call_tool("search_products", {"query": "roses"}))
        assert [p["name"] for p in products["products"]] == ["Red roses"]
    async with mcp_client(app, world["other_full"]) as session:
        found = _payload(await session.call_tool("find_order", {"phone": "+31611112222"}))
        assert found["order"]["number"] == "4001"


async def test_bad_arguments_are_a_tool_error_not_a_failure(app, world):
    async with mcp_client(app, world["full"]) as session:
        result = await session.call_tool("opening_hours", {"date": "someday"})
        assert result.is_error is True
        error = _payload(result)["error"]
        assert error["code"] == "invalid_arguments" and "arguments.date" in error["message"]


async def test_place_order_is_committed_and_idempotent_on_the_header(app, world, db):
    headers = {**world["full"], "Idempotency-Key": "mcp-order-1"}
    arguments = {"items": [{"name": "Red roses", "quantity": 3}], "customerPhone": "0612345678"}
    async with mcp_client(app, headers) as session:
        first = _payload(await session.call_tool("place_order", arguments))
        again = _payload(await session.call_tool("place_order", arguments))
    assert first["replayed"] is False and again["replayed"] is True
    assert again["orderId"] == first["orderId"]
    orders = await db.scalars(select(Order).where(Order.shop_id == world["shop"].id))
    placed = [o for o in orders if o.source == "api"]
    assert len(placed) == 1 and placed[0].total_minor == 3 * 2950


async def test_the_endpoint_authenticates_like_every_route(client, world, db):
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream"}
    anonymous = await client.post("/api/ai/mcp", json=body, headers=headers)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthorized"
    assert "www-authenticate" in anonymous.headers
    wrong = await client.post(
        "/api/ai/mcp", json=body, headers={**headers, "Authorization": "Bearer blm_nope"}
    )
    assert wrong.status_code == 401
    listed = await client.post("/api/ai/mcp", json=body, headers={**headers, **world["full"]})
    assert listed.status_code == 200, listed.text
    assert "ratelimit" in listed.headers
    assert len(listed.json()["result"]["tools"]) == 7
    got = await client.get("/api/ai/mcp", headers={**headers, **world["full"]})
    assert got.status_code == 405 and got.headers["allow"] == "POST"


async def test_a_session_is_refused_the_endpoint_is_for_keys(client, db, world):
    from factories.core import add_member, create_user
    from support.auth import bearer, database_session

    owner = await create_user(db)
    await add_member(db, world["shop"], owner, "owner")
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    response = await client.post(
        "/api/ai/mcp",
        json=body,
        headers={
            "Accept": "application/json, text/event-stream",
            **bearer(await database_session(db, owner.id)),
        },
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "api_key_required"


async def test_two_apps_each_have_their_own_server(app, settings, database_target, session_factory):
    from bloomer_ai.main import create_app

    second = create_app(settings, database=database_target, session_factory=session_factory)
    assert second.state.mcp_server is not app.state.mcp_server
    async with second.router.lifespan_context(second):
        assert second.state.mcp_sessions is not app.state.mcp_sessions


async def test_tool_calls_are_counted(app, world, db):
    async with mcp_client(app, world["full"]) as session:
        await session.call_tool("opening_hours", {})
        await session.call_tool("opening_hours", {"weekday": "mon"})
    count = await db.scalar(
        select(func.count()).select_from(ToolCall).where(ToolCall.shop_id == world["shop"].id)
    )
    assert count == 2


async def test_the_high_level_client_on_the_newer_protocol(app, world):
    """``mcp.Client`` negotiates the newest protocol the server speaks: another path in
    the SDK (mcp-method/mcp-name headers, arguments checked against the tool's schema)."""
    from mcp import Client

    transport = httpx2.ASGITransport(app=app)
    async with (
        httpx2.AsyncClient(transport=transport, headers=world["full"]) as http,
        Client(streamable_http_client(URL, http_client=http)) as client,
    ):
        listed = await client.list_tools()
        assert len(listed.tools) == 7
        found = await client.call_tool("find_order", {"orderNumber": "3001"})
        assert found.structured_content["order"]["number"] == "3001"
        bad = await client.call_tool("opening_hours", {"weekday": "someday"})
        assert bad.is_error is True
    async with (
        httpx2.AsyncClient(transport=transport, headers=world["reader"]) as http,
        Client(streamable_http_client(URL, http_client=http)) as client,
    ):
        assert [t.name for t in (await client.list_tools()).tools] == [
            "opening_hours",
            "delivery_info",
            "search_products",
        ]
        with pytest.raises(MCPError):
            await client.call_tool("find_order", {"orderNumber": "3001"})


async def test_the_database_away_is_a_503_not_a_tool_error(database_target, engine):
    from httpx import ASGITransport, AsyncClient

    from bloomer_ai.db.engine import DatabaseTarget
    from bloomer_ai.main import create_app
    from conftest import make_settings
    from support.committed import committed_shop
    from support.proxy import CuttableProxy

    proxy = CuttableProxy(database_target.url)
    await proxy.open()
    through_proxy = DatabaseTarget(
        proxy.url(database_target.url), embedded=False, owner_url=database_target.owner_url
    )
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "search_products", "arguments": {"query": "roses"}},
    }
    async with committed_shop(engine, name="MCP outage") as (_shop, secret):
        app = create_app(make_settings(database_target.operator_url), database=through_proxy)
        headers = {
            "Authorization": f"Bearer {secret}",
            "Accept": "application/json, text/event-stream",
        }
        async with (
            app.router.lifespan_context(app),
            AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client,
        ):
            ok = await client.post("/api/ai/mcp", json=call, headers=headers)
            assert ok.status_code == 200, ok.text
            await proxy.cut()
            away = await client.post("/api/ai/mcp", json=call, headers=headers)
            assert away.status_code == 503, away.text
            assert away.json()["error"]["code"] == "service_unavailable"
            assert int(away.headers["retry-after"]) > 0
            await proxy.open()
        await proxy.cut()


@pytest.mark.usefixtures("restore_logging")
async def test_tool_calls_log_no_arguments_even_at_debug(app, world):
    import io

    from bloomer_ai.logging import configure_logging

    stream = io.StringIO()
    configure_logging(level="DEBUG", json_output=True, stream=stream)
    phone = "+31612345678"
    async with mcp_client(app, world["full"]) as session:
        await session.call_tool("find_order", {"phone": phone})
        await session.call_tool(
            "place_order", {"items": [{"name": "Red roses"}], "customerPhone": phone}
        )
    output = stream.getvalue()
    events = [json.loads(line) for line in output.splitlines() if line.strip()]
    called = [e for e in events if e.get("event") == "tool_called"]
    assert [e["tool"] for e in called] == ["find_order", "place_order"]
    assert all(e["ok"] for e in called)
    for spelling in (phone, "612345678", "Red roses"):
        assert spelling not in output
