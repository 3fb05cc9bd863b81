"""GET/POST /api/ai/conversations, GET/DELETE /api/ai/conversations/{id},
POST /api/ai/conversations/{id}/messages, against PostgreSQL with real credentials."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from bloomer_ai.models import AgentConversation, AgentMessage
from factories.agent import add_message, add_messages, create_agent_world, create_conversation
from factories.core import create_customer
from support.auth import bearer, issue_key, key_headers, session_tokens

OWNER_ID = uuid.UUID("01900000-0000-7000-8000-0000000000b1")
STAFF_ID = uuid.UUID("01900000-0000-7000-8000-0000000000b2")
OTHER_OWNER_ID = uuid.UUID("01900000-0000-7000-8000-0000000000b3")

READ = ["conversations:read"]
WRITE = ["conversations:write"]


@pytest.fixture(scope="module")
def tokens() -> dict[str, str]:
    return session_tokens({"owner": OWNER_ID, "staff": STAFF_ID, "other_owner": OTHER_OWNER_ID})


@pytest.fixture
async def world(db):
    return await create_agent_world(
        db, owner_id=OWNER_ID, staff_id=STAFF_ID, other_owner_id=OTHER_OWNER_ID
    )


async def key(db, shop, scopes: list[str]) -> dict[str, str]:
    _, secret = await issue_key(db, shop, scopes)
    return key_headers(secret)


async def message_count(db, conversation_id: uuid.UUID) -> int:
    return int(
        await db.scalar(
            select(func.count())
            .select_from(AgentMessage)
            .where(AgentMessage.conversation_id == conversation_id)
        )
    )


ROUTES = [
    ("GET", "/api/ai/conversations", READ, None),
    ("POST", "/api/ai/conversations", WRITE, {}),
    ("GET", "/api/ai/conversations/{id}", READ, None),
    ("DELETE", "/api/ai/conversations/{id}", WRITE, None),
    (
        "POST",
        "/api/ai/conversations/{id}/messages",
        WRITE,
        {"messages": [{"role": "user", "content": "hi"}]},
    ),
]


# --- auth on every route -----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "scopes", "body"), ROUTES)
async def test_anonymous_is_401(client, world, db, method, path, scopes, body):
    conversation = await create_conversation(db, world.shop)
    response = await client.request(method, path.replace("{id}", str(conversation.id)), json=body)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(("method", "path", "scopes", "body"), ROUTES)
async def test_key_without_the_scope_is_403(client, world, db, method, path, scopes, body):
    conversation = await create_conversation(db, world.shop)
    other_scope = WRITE if scopes == READ else READ
    headers = await key(db, world.shop, ["agent:chat", *other_scope])
    url = path.replace("{id}", str(conversation.id))
    response = await client.request(method, url, json=body, headers=headers)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "insufficient_scope"
    assert error["details"][0]["message"] == f"requires {scopes[0]}"
    assert await db.get(AgentConversation, conversation.id) is not None


@pytest.mark.parametrize(("method", "path", "scopes", "body"), ROUTES[2:])
async def test_another_shops_conversation_is_404(client, world, db, method, path, scopes, body):
    foreign = await create_conversation(db, world.other)
    await add_message(db, foreign, "the other shop's words")
    headers = await key(db, world.shop, scopes)
    for conversation_id in (str(foreign.id), "not-an-id", str(uuid.uuid4())):
        response = await client.request(
            method, path.replace("{id}", conversation_id), json=body, headers=headers
        )
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "conversation_not_found"
        assert "the other shop" not in response.text
    assert await message_count(db, foreign.id) == 1


# --- list -----------------------------------------------------------------------------------


async def test_list_newest_first_with_cursor_pages(client, world, db, tokens):
    created = [await create_conversation(db, world.shop, title=f"c{i}") for i in range(5)]
    await create_conversation(db, world.other, title="foreign")
    for headers in (await key(db, world.shop, READ), bearer(tokens["staff"])):
        response = await client.get("/api/ai/conversations?limit=2", headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert [item["title"] for item in page["items"]] == ["c4", "c3"]
        seen = [item["id"] for item in page["items"]]
        while page["nextCursor"]:
            page = (
                await client.get(
                    f"/api/ai/conversations?limit=2&cursor={page['nextCursor']}", headers=headers
                )
            ).json()
            seen += [item["id"] for item in page["items"]]
        assert seen == [str(c.id) for c in reversed(created)]


async def test_list_by_customer(client, world, db):
    anna = await create_customer(db, world.shop)
    mine = await create_conversation(db, world.shop, customer=anna)
    await create_conversation(db, world.shop)
    foreign_customer = await create_customer(db, world.other)
    await create_conversation(db, world.other, customer=foreign_customer)
    headers = await key(db, world.shop, READ)
    response = await client.get(f"/api/ai/conversations?customerId={anna.id}", headers=headers)
    assert [item["id"] for item in response.json()["items"]] == [str(mine.id)]
    assert response.json()["items"][0]["customerId"] == str(anna.id)
    for customer_id in (foreign_customer.id, "nope"):
        response = await client.get(
            f"/api/ai/conversations?customerId={customer_id}", headers=headers
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "customer_not_found"


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "query.limit"), ("limit=101", "query.limit"), ("cursor=%25%25", "query.cursor")],
)
async def test_bad_list_parameters_are_422(client, world, db, query, field):
    headers = await key(db, world.shop, READ)
    response = await client.get(f"/api/ai/conversations?{query}", headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == field


# --- create -----------------------------------------------------------------------------------


async def test_create_with_session_and_with_key(client, world, db, tokens):
    anna = await create_customer(db, world.shop)
    response = await client.post(
        "/api/ai/conversations",
        json={"customerId": str(anna.id), "title": "Wedding flowers"},
        headers=bearer(tokens["owner"]),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["customerId"] == str(anna.id)
    assert body["userId"] == str(OWNER_ID)
    assert body["title"] == "Wedding flowers"
    assert body["lastMessageAt"] is None
    row = await db.get(AgentConversation, uuid.UUID(body["id"]))
    assert row is not None and row.shop_id == world.shop.id

    response = await client.post(
        "/api/ai/conversations", json={}, headers=await key(db, world.shop, WRITE)
    )
    assert response.status_code == 201
    assert response.json()["userId"] is None
    assert response.json()["customerId"] is None


async def test_create_for_another_shops_customer_is_404(client, world, db):
    foreign = await create_customer(db, world.other)
    headers = await key(db, world.shop, WRITE)
    for customer_id in (str(foreign.id), "not-an-id"):
        response = await client.post(
            "/api/ai/conversations", json={"customerId": customer_id}, headers=headers
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "customer_not_found"
    count = await db.scalar(select(func.count()).select_from(AgentConversation))
    assert count == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"customerId": 12}, "customerId"),
        ({"topic": "roses"}, "topic"),
    ],
)
async def test_bad_create_input_is_422(client, world, db, body, field):
    response = await client.post(
        "/api/ai/conversations", json=body, headers=await key(db, world.shop, WRITE)
    )
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == [f"body.{field}"]


# --- read one ---------------------------------------------------------------------------------


async def test_read_with_message_pages_newest_first(client, world, db, tokens):
    conversation = await create_conversation(db, world.shop, title="Order help")
    await add_messages(
        db,
        conversation,
        [("user", "one"), ("assistant", "two"), ("user", "three"), ("tool", "four")],
    )
    await add_message(
        db, conversation, "fi", role="assistant", status="incomplete", message_metadata={"k": 1}
    )
    for headers in (await key(db, world.shop, READ), bearer(tokens["staff"])):
        response = await client.get(
            f"/api/ai/conversations/{conversation.id}?limit=3", headers=headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["id"] == str(conversation.id)
        assert body["title"] == "Order help"
        items = body["messages"]["items"]
        assert [m["content"] for m in items] == ["fi", "four", "three"]
        assert items[0] | {"id": None, "createdAt": None} == {
            "id": None,
            "conversationId": str(conversation.id),
            "role": "assistant",
            "content": "fi",
            "status": "incomplete",
            "metadata": {"k": 1},
            "createdAt": None,
        }
        cursor = body["messages"]["nextCursor"]
        older = await client.get(
            f"/api/ai/conversations/{conversation.id}?limit=3&cursor={cursor}", headers=headers
        )
        assert [m["content"] for m in older.json()["messages"]["items"]] == ["two", "one"]
        assert older.json()["messages"]["nextCursor"] is None


# --- append -----------------------------------------------------------------------------------


async def test_lilli_appends_messages_in_order(client, world, db):
    conversation = await create_conversation(db, world.shop, last_message_at=None)
    headers = await key(db, world.shop, WRITE)
    body: dict[str, Any] = {
        "messages": [
            {"role": "user", "content": "Do you deliver on Sunday?"},
            {"role": "tool", "content": '{"delivery": false}', "metadata": {"tool": "zones"}},
            {"role": "assistant", "content": "Not on Sundays, sorry."},
        ]
    }
    response = await client.post(
        f"/api/ai/conversations/{conversation.id}/messages", json=body, headers=headers
    )
    assert response.status_code == 201, response.text
    items = response.json()["items"]
    assert [(m["role"], m["status"]) for m in items] == [
        ("user", "complete"),
        ("tool", "complete"),
        ("assistant", "complete"),
    ]
    assert items[1]["metadata"] == {"tool": "zones"}
    rows = (
        await db.scalars(
            select(AgentMessage)
            .where(AgentMessage.conversation_id == conversation.id)
            .order_by(AgentMessage.id)
        )
    ).all()
    assert [row.content for row in rows] == [m["content"] for m in body["messages"]]
    assert {row.shop_id for row in rows} == {world.shop.id}
    refreshed = await db.get(AgentConversation, conversation.id, populate_existing=True)
    assert refreshed is not None and refreshed.last_message_at is not None


async def test_sessions_may_append_too(client, world, db, tokens):
    conversation = await create_conversation(db, world.shop)
    response = await client.post(
        f"/api/ai/conversations/{conversation.id}/messages",
        json={"messages": [{"role": "assistant", "content": "Staff here, I'll call you."}]},
        headers=bearer(tokens["staff"]),
    )
    assert response.status_code == 201
    assert await message_count(db, conversation.id) == 1


@pytest.mark.parametrize(
    ("messages", "field"),
    [
        ([], "messages"),
        ([{"role": "robot", "content": "x"}], "messages[0].role"),
        ([{"role": "user", "content": ""}], "messages[0].content"),
        ([{"role": "user", "content": "ok"}, {"role": "user"}], "messages[1].content"),
        ([{"role": "user", "content": "x" * 20_001}], "messages[0].content"),
        ([{"role": "user", "content": "x", "metadata": {"b": "y" * 9000}}], "messages[0].metadata"),
        ([{"role": "user", "content": "x", "metadata": [1]}], "messages[0].metadata"),
        ([{"role": "user", "content": "x", "at": "now"}], "messages[0].at"),
    ],
)
async def test_bad_messages_are_422_and_nothing_is_stored(client, world, db, messages, field):
    conversation = await create_conversation(db, world.shop)
    response = await client.post(
        f"/api/ai/conversations/{conversation.id}/messages",
        json={"messages": messages},
        headers=await key(db, world.shop, WRITE),
    )
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == [f"body.{field}"]
    assert await message_count(db, conversation.id) == 0


# --- delete -----------------------------------------------------------------------------------


async def test_delete_erases_the_conversation_and_its_messages(client, world, db, tokens):
    conversation = await create_conversation(db, world.shop)
    await add_messages(db, conversation, [("user", "my address is …"), ("assistant", "noted")])
    kept = await create_conversation(db, world.shop)
    await add_message(db, kept, "stays")
    headers = await key(db, world.shop, WRITE)
    response = await client.delete(f"/api/ai/conversations/{conversation.id}", headers=headers)
    assert response.status_code == 204
    assert response.content == b""
    assert await message_count(db, conversation.id) == 0
    gone = await db.scalar(
        select(AgentConversation.id).where(AgentConversation.id == conversation.id)
    )
    assert gone is None
    assert await message_count(db, kept.id) == 1
    read = await client.get(
        f"/api/ai/conversations/{conversation.id}", headers=await key(db, world.shop, READ)
    )
    assert read.status_code == 404
    again = await client.delete(f"/api/ai/conversations/{conversation.id}", headers=headers)
    assert again.status_code == 404
    # A session may erase too.
    response = await client.delete(
        f"/api/ai/conversations/{kept.id}", headers=bearer(tokens["staff"])
    )
    assert response.status_code == 204
