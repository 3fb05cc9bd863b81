"""POST /api/ai/agent and its alias POST /api/lilli/chat, end to end against PostgreSQL.

Sessions come from the real NextAuth library; the ``lilli`` provider talks to a real HTTP
server on loopback (a small Starlette app served by uvicorn in a thread) that plays Lilli:
the path picks its behaviour, ``{base}/{scenario}/v1/chat``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import uvicorn
from httpx import ASGITransport, AsyncClient
from sqlalchemy import event, select, text, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bloomer_ai.agent.providers import BuiltinProvider
from bloomer_ai.agent.repository import MessageRepository
from bloomer_ai.config import AISettings, FeatureSettings, RateLimitSettings
from bloomer_ai.db.engine import DatabaseTarget
from bloomer_ai.db.session import unit_of_work
from bloomer_ai.models import AgentConversation, AgentMessage, Shop
from bloomer_ai.tools.service import ConversationTools
from conftest import make_settings
from factories.agent import add_message, create_agent_world, create_conversation
from factories.core import create_customer, create_order
from support.auth import bearer, issue_key, key_headers, session_tokens
from support.upstream import delta, sse

OWNER_ID = uuid.UUID("01900000-0000-7000-8000-0000000000a1")
STAFF_ID = uuid.UUID("01900000-0000-7000-8000-0000000000a2")
OTHER_OWNER_ID = uuid.UUID("01900000-0000-7000-8000-0000000000a3")
LILLI_KEY = "lk_chat_api_test_key"
CHAT_ROUTES = ["/api/ai/agent", "/api/lilli/chat"]


# --- the Lilli imitation -----------------------------------------------------------------------


class LilliLog:
    """Requests the imitation received, per scenario (appended from the server thread)."""

    def __init__(self) -> None:
        self.requests: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.lock = threading.Lock()

    def add(self, scenario: str, body: dict[str, Any]) -> int:
        with self.lock:
            self.requests[scenario].append(body)
            return len(self.requests[scenario])


LILLI_LOG = LilliLog()


async def fake_lilli(request: Request) -> Response:
    scenario = request.path_params["scenario"]
    body = json.loads(await request.body())
    calls = LILLI_LOG.add(scenario, body)
    kind = scenario.split("~", 1)[0]  # "fail-once~<test id>": one log per test
    if kind == "fail" or (kind == "fail-once" and calls == 1):
        return JSONResponse({"error": "exploded"}, status_code=500)
    if kind == "slow" or (kind == "slow-once" and calls == 1):
        await asyncio.sleep(2.0)
    if body["stream"]:
        if kind == "stream-break":
            return sse(delta("Once upon "), 'event: error\ndata: {"code": "model_overloaded"}\n\n')
        if kind == "stream-drip":
            return sse(
                delta("Once "), "sleep:0.1", delta("upon "), "sleep:0.1", delta("a time"),
                "data: [DONE]\n\n",
            )  # fmt: skip
        if kind == "stream-stall":
            return sse(delta("Once upon "), "sleep:10", delta("a time"), "data: [DONE]\n\n")
        return sse(delta("Hello "), delta("from Lilli"), "data: [DONE]\n\n")
    last = body["messages"][-1]["content"]
    return JSONResponse({"reply": f"Lilli heard {len(last)} characters"})


@pytest.fixture(scope="module")
def lilli_url() -> Iterator[str]:
    app = Starlette(routes=[Route("/{scenario}/v1/chat", fake_lilli, methods=["POST"])])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", log_config=None,
        timeout_graceful_shutdown=1,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the Lilli imitation did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


# --- apps, credentials, data -----------------------------------------------------------------


@contextlib.asynccontextmanager
async def app_client(database_url, session_factory, **sections: Any) -> AsyncIterator[Any]:
    """An app with its own settings on the test's connection, and a client for it."""
    from bloomer_ai.main import create_app

    application = create_app(
        make_settings(database_url, **sections),
        database=DatabaseTarget(database_url, embedded=False),
        session_factory=session_factory,
    )
    async with application.router.lifespan_context(application):
        transport = ASGITransport(app=application)
        async with AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.app = application  # type: ignore[attr-defined]
            yield client


def lilli_settings(base: str, scenario: str, **extra: Any) -> AISettings:
    values: dict[str, Any] = {
        "ai_provider": "lilli",
        "lilli_base_url": f"{base}/{scenario}~{uuid.uuid4().hex[:8]}",
        "lilli_api_key": LILLI_KEY,
        "lilli_timeout_seconds": 0.5,
    }
    return AISettings(_env_file=None, **{**values, **extra})


def scenario_of(client: AsyncClient) -> str:
    base = client.app.state.settings.ai.lilli_base_url  # type: ignore[attr-defined]
    return str(base).rsplit("/", 1)[1]


@pytest.fixture(scope="module")
def tokens() -> dict[str, str]:
    return session_tokens({"owner": OWNER_ID, "staff": STAFF_ID, "other_owner": OTHER_OWNER_ID})


@pytest.fixture
async def world(db):
    return await create_agent_world(
        db, owner_id=OWNER_ID, staff_id=STAFF_ID, other_owner_id=OTHER_OWNER_ID
    )


@pytest.fixture
async def chat_key(db, world) -> dict[str, str]:
    _, secret = await issue_key(db, world.shop, ["agent:chat"], name="lilli")
    return key_headers(secret)


async def stored_messages(db, conversation_id: str | uuid.UUID) -> list[AgentMessage]:
    rows = await db.scalars(
        select(AgentMessage)
        .where(AgentMessage.conversation_id == uuid.UUID(str(conversation_id)))
        .order_by(AgentMessage.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((fields["event"], json.loads(fields["data"])))
    return events


# --- auth, scopes, input ---------------------------------------------------------------------


@pytest.mark.parametrize("path", CHAT_ROUTES)
async def test_anonymous_is_401(client, world, path):
    response = await client.post(path, json={"message": "hi"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", CHAT_ROUTES)
async def test_key_without_agent_chat_scope_is_403(client, world, db, path):
    _, secret = await issue_key(db, world.shop, ["conversations:read", "agent:config:read"])
    response = await client.post(path, json={"message": "hi"}, headers=key_headers(secret))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    assert response.json()["error"]["details"][0]["message"] == "requires agent:chat"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "message"),
        ({"message": ""}, "message"),
        ({"message": "   \n "}, "message"),
        ({"message": "x" * 4001}, "message"),
        ({"message": 42}, "message"),
        ({"message": "hi", "colour": "red"}, "colour"),
        ({"message": "hi", "conversationId": 7}, "conversationId"),
    ],
)
async def test_bad_input_is_422_with_the_field(client, world, chat_key, body, field):
    response = await client.post("/api/ai/agent", json=body, headers=chat_key)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [detail["field"] for detail in error["details"]] == [f"body.{field}"]


async def test_message_limit_is_configurable(database_url, session_factory, db, world, chat_key):
    ai = AISettings(agent_max_message_chars=10, _env_file=None)
    async with app_client(database_url, session_factory, ai=ai) as client:
        ok = await client.post("/api/ai/agent", json={"message": "x" * 10}, headers=chat_key)
        assert ok.status_code == 200
        response = await client.post("/api/ai/agent", json={"message": "x" * 11}, headers=chat_key)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body.message"
    assert response.json()["error"]["details"][0]["message"] == "at most 10 characters"


# --- the happy paths ---------------------------------------------------------------------------


async def test_api_key_chat_creates_a_conversation_and_stores_both_messages(
    client, world, chat_key, db
):
    response = await client.post("/api/ai/agent", json={"message": "Hello!"}, headers=chat_key)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"reply", "conversationId", "messageId"}
    assert body["reply"] == "Hi! I'm Lilli, how can I help?"
    assert response.headers["ratelimit-policy"] == '"agent";q=30;w=60'

    conversation = await db.get(AgentConversation, uuid.UUID(body["conversationId"]))
    assert conversation is not None
    assert conversation.shop_id == world.shop.id
    assert conversation.user_id is None  # an API key started it
    assert conversation.last_message_at is not None
    messages = await stored_messages(db, body["conversationId"])
    assert [(m.role, m.content, m.status) for m in messages] == [
        ("user", "Hello!", "complete"),
        ("assistant", "Hi! I'm Lilli, how can I help?", "complete"),
    ]
    assert str(messages[1].id) == body["messageId"]
    assert messages[1].message_metadata == {"provider": "builtin"}

    again = await client.post(
        "/api/ai/agent",
        json={"message": "thanks", "conversationId": body["conversationId"]},
        headers=chat_key,
    )
    assert again.status_code == 200
    assert again.json()["conversationId"] == body["conversationId"]
    assert len(await stored_messages(db, body["conversationId"])) == 4


@pytest.mark.parametrize("path", CHAT_ROUTES)
async def test_session_chat_on_both_routes(client, world, tokens, db, path):
    response = await client.post(
        path, json={"message": "hi", "shopId": str(world.shop.id)}, headers=bearer(tokens["staff"])
    )
    assert response.status_code == 200, response.text
    conversation = await db.get(AgentConversation, uuid.UUID(response.json()["conversationId"]))
    assert conversation is not None and conversation.user_id == STAFF_ID


async def test_shop_id_of_another_shop_is_refused(client, world, chat_key, tokens):
    body = {"message": "hi", "shopId": str(world.other.id)}
    response = await client.post("/api/ai/agent", json=body, headers=chat_key)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_shop"
    response = await client.post("/api/ai/agent", json=body, headers=bearer(tokens["owner"]))
    assert response.status_code == 403


async def test_agent_disabled_for_the_shop_is_403(client, world, chat_key, db):
    await db.execute(update(Shop).where(Shop.id == world.shop.id).values(lilli_enabled=False))
    await db.flush()
    for path in CHAT_ROUTES:
        response = await client.post(path, json={"message": "hi"}, headers=chat_key)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "agent_disabled"
    assert (await db.scalar(select(AgentMessage.id).limit(1))) is None


# --- other shops --------------------------------------------------------------------------------


async def test_conversation_of_another_shop_is_404(client, world, chat_key, db):
    foreign = await create_conversation(db, world.other)
    await add_message(db, foreign, "secret of the other shop")
    for conversation_id in (str(foreign.id), "not-an-id", str(uuid.uuid4())):
        response = await client.post(
            "/api/ai/agent",
            json={"message": "hi", "conversationId": conversation_id},
            headers=chat_key,
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "conversation_not_found"
    assert len(await stored_messages(db, foreign.id)) == 1


async def test_customer_of_another_shop_is_404(client, world, chat_key, db):
    foreign = await create_customer(db, world.other)
    response = await client.post(
        "/api/ai/agent", json={"message": "hi", "customerId": str(foreign.id)}, headers=chat_key
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "customer_not_found"
    assert (await db.scalar(select(AgentConversation.id).limit(1))) is None


async def test_customer_links_a_conversation_once(client, world, chat_key, db):
    anna = await create_customer(db, world.shop, name="Anna de Vries")
    ben = await create_customer(db, world.shop, name="Ben")
    first = await client.post("/api/ai/agent", json={"message": "hi"}, headers=chat_key)
    conversation_id = first.json()["conversationId"]
    linked = await client.post(
        "/api/ai/agent",
        json={"message": "hi", "conversationId": conversation_id, "customerId": str(anna.id)},
        headers=chat_key,
    )
    assert linked.status_code == 200
    conversation = await db.get(
        AgentConversation, uuid.UUID(conversation_id), populate_existing=True
    )
    assert conversation is not None and conversation.customer_id == anna.id
    response = await client.post(
        "/api/ai/agent",
        json={"message": "hi", "conversationId": conversation_id, "customerId": str(ben.id)},
        headers=chat_key,
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conversation_customer_mismatch"


async def test_order_lookup_never_sees_another_shops_orders(client, world, chat_key, db):
    await create_order(db, world.other, number="7777", status="delivered")
    response = await client.post(
        "/api/ai/agent", json={"message": "Where is order 7777?"}, headers=chat_key
    )
    assert response.status_code == 200
    assert response.json()["reply"].startswith("I can't find an order with the number 7777.")


# --- limits and switches ---------------------------------------------------------------------


async def test_rate_limited_per_api_key_and_per_user(
    database_url, session_factory, db, world, tokens
):
    _, secret = await issue_key(db, world.shop, ["agent:chat"])
    _, other_secret = await issue_key(db, world.shop, ["agent:chat"])
    limits = RateLimitSettings(ratelimit_agent="2/minute", _env_file=None)
    async with app_client(database_url, session_factory, ratelimit=limits) as client:
        for path in ("/api/ai/agent", "/api/lilli/chat"):
            response = await client.post(path, json={"message": "hi"}, headers=key_headers(secret))
            assert response.status_code == 200
        response = await client.post(
            "/api/ai/agent", json={"message": "hi"}, headers=key_headers(secret)
        )
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(response.headers["retry-after"]) <= 60
        assert response.headers["ratelimit-policy"] == '"agent";q=2;w=60'
        # Another key, and a user, have limits of their own.
        response = await client.post(
            "/api/ai/agent", json={"message": "hi"}, headers=key_headers(other_secret)
        )
        assert response.status_code == 200
        for expected in (200, 200, 429):
            response = await client.post(
                "/api/lilli/chat", json={"message": "hi"}, headers=bearer(tokens["owner"])
            )
            assert response.status_code == expected


AGENT_ROUTES = [
    ("POST", "/api/ai/agent"),
    ("POST", "/api/lilli/chat"),
    ("GET", "/api/ai/conversations"),
    ("POST", "/api/ai/conversations"),
    ("GET", "/api/ai/conversations/{id}"),
    ("DELETE", "/api/ai/conversations/{id}"),
    ("POST", "/api/ai/conversations/{id}/messages"),
    ("GET", "/api/ai/agent/config"),
    ("PATCH", "/api/ai/agent/config"),
]


async def test_feature_switched_off_is_404_on_every_route(
    database_url, session_factory, db, world, tokens
):
    conversation = await create_conversation(db, world.shop)
    features = FeatureSettings(ai_agent_enabled=False, _env_file=None)
    async with app_client(database_url, session_factory, features=features) as client:
        for method, path in AGENT_ROUTES:
            url = path.replace("{id}", str(conversation.id))
            for headers in ({}, bearer(tokens["owner"])):
                response = await client.request(
                    method, url, json={"message": "hi"}, headers=headers
                )
                assert response.status_code == 404, (method, path)
                assert response.json()["error"]["code"] == "feature_disabled"


# --- history --------------------------------------------------------------------------------


async def test_provider_gets_recent_history_oldest_dropped_first(
    database_url, session_factory, db, world, chat_key, lilli_url
):
    conversation = await create_conversation(db, world.shop)
    for index in range(6):
        role = "user" if index % 2 == 0 else "assistant"
        await add_message(db, conversation, f"m{index} " + "x" * 40, role=role)
    ai = lilli_settings(lilli_url, "ok", agent_history_messages=4, agent_history_chars=100)
    async with app_client(database_url, session_factory, ai=ai) as client:
        response = await client.post(
            "/api/ai/agent",
            json={"message": "newest", "conversationId": str(conversation.id)},
            headers=chat_key,
        )
        assert response.status_code == 200, response.text
        sent = LILLI_LOG.requests[scenario_of(client)][-1]["messages"]
        # 4 messages at most: m3, m4, m5 and the new one; m3 would pass 100 characters.
        assert [m["content"][:2] for m in sent] == ["m4", "m5", "ne"]
        assert [m["role"] for m in sent] == ["user", "assistant", "user"]

        big = "y" * 150  # alone over the budget: the message being answered is always sent
        response = await client.post(
            "/api/ai/agent",
            json={"message": big, "conversationId": str(conversation.id)},
            headers=chat_key,
        )
        assert response.status_code == 200
        sent = LILLI_LOG.requests[scenario_of(client)][-1]["messages"]
        assert sent == [{"role": "user", "content": big}]


async def test_history_read_is_one_index_scan_whatever_the_table_size(db, world, session_factory):
    """100 or 100,000 messages: the same plan, an Index Scan Backward that stops after
    LIMIT rows and touches a handful of pages (no timing: plans and buffer counts)."""
    small = await create_conversation(db, world.shop)
    large = await create_conversation(db, world.shop)
    for conversation, count in ((small, 100), (large, 100_000)):
        await db.execute(
            text(
                "INSERT INTO agent_messages (id, shop_id, conversation_id, role, content, status)"
                " SELECT gen_random_uuid(), :shop, :conversation, 'user', 'message ' || g,"
                " 'complete' FROM generate_series(1, :count) AS g"
            ),
            {"shop": world.shop.id, "conversation": conversation.id, "count": count},
        )
    await db.execute(text("ANALYZE agent_messages"))
    connection = await db.connection()
    captured: list[tuple[str, Any]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if "FROM agent_messages" in statement:
            captured.append((statement, parameters))

    sync_connection = connection.sync_connection
    assert sync_connection is not None
    plans = []
    for conversation in (small, large):
        captured.clear()
        event.listen(sync_connection, "before_cursor_execute", capture)
        try:
            async with unit_of_work(session_factory, shop_id=world.shop.id) as session:
                turns = await MessageRepository(session).recent(conversation.id, limit=20)
        finally:
            event.remove(sync_connection, "before_cursor_execute", capture)
        assert len(turns) == 20
        assert len(captured) == 1, "the history is one query"
        statement, parameters = captured[0]
        assert "shop_id" in statement  # the tenancy filter is part of it
        result = await connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters
        )
        plans.append(result.scalar_one()[0]["Plan"])

    for plan in plans:
        assert plan["Node Type"] == "Limit"
        scan = plan["Plans"][0]
        assert scan["Node Type"] in {"Index Scan", "Index Only Scan"}
        # Our index, or (for a conversation holding nearly every row) the primary key: the
        # planner may pick either, as long as it reads the newest rows first and stops.
        assert scan["Index Name"] in {"ix_agent_messages_shop_conversation_id", "pk_agent_messages"}
        assert scan["Scan Direction"] == "Backward"
        assert scan["Actual Rows"] == 20
        assert scan.get("Rows Removed by Filter", 0) <= 20
        assert "Sort" not in json.dumps(plan)
        touched = scan["Shared Hit Blocks"] + scan["Shared Read Blocks"]
        assert touched < 30, touched


# --- provider failures ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "status", "code"),
    [("fail-once", 502, "provider_error"), ("slow-once", 504, "provider_timeout")],
)
async def test_provider_failure_keeps_the_message_and_the_conversation_usable(
    database_url, session_factory, db, world, chat_key, lilli_url, scenario, status, code
):
    ai = lilli_settings(lilli_url, scenario)
    async with app_client(database_url, session_factory, ai=ai) as client:
        response = await client.post(
            "/api/ai/agent", json={"message": "Are you open on Sunday?"}, headers=chat_key
        )
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["code"] == code
        assert LILLI_KEY not in response.text and "127.0.0.1" not in response.text
        conversation_id = error["details"][0]["conversationId"]
        messages = await stored_messages(db, conversation_id)
        assert [(m.role, m.content) for m in messages] == [("user", "Are you open on Sunday?")]
        assert str(messages[0].id) == error["details"][0]["userMessageId"]

        # The same conversation goes on; Lilli gets the kept message as history.
        response = await client.post(
            "/api/ai/agent",
            json={"message": "Hello?", "conversationId": conversation_id},
            headers=chat_key,
        )
        assert response.status_code == 200, response.text
        assert response.json()["reply"] == "Lilli heard 6 characters"
        sent = LILLI_LOG.requests[scenario_of(client)][-1]["messages"]
        assert [m["content"] for m in sent] == ["Are you open on Sunday?", "Hello?"]
    messages = await stored_messages(db, conversation_id)
    assert [m.role for m in messages] == ["user", "user", "assistant"]


async def test_lilli_request_carries_the_shop_and_key(
    database_url, session_factory, db, world, chat_key, lilli_url
):
    async with app_client(
        database_url, session_factory, ai=lilli_settings(lilli_url, "ok")
    ) as client:
        response = await client.post("/api/lilli/chat", json={"message": "hi"}, headers=chat_key)
        assert response.status_code == 200
        sent = LILLI_LOG.requests[scenario_of(client)][-1]
    assert sent["shop"]["id"] == str(world.shop.id)
    assert sent["shop"]["name"] == "Rozenhof"
    assert sent["stream"] is False


# --- streaming ---------------------------------------------------------------------------------


async def test_streamed_reply_is_stored_whole(client, world, chat_key, db):
    response = await client.post(
        "/api/ai/agent",
        json={"message": "Can you tell me about the weather tomorrow please?"},
        headers={**chat_key, "Accept": "text/event-stream"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    events = parse_sse(response.text)
    names = [name for name, _ in events]
    assert names[-1] == "done" and set(names[:-1]) == {"delta"} and len(names) > 2
    reply = "".join(data["delta"] for name, data in events if name == "delta")
    done = events[-1][1]
    assert done["complete"] is True
    assert response.headers["x-conversation-id"] == done["conversationId"]
    messages = await stored_messages(db, done["conversationId"])
    assert [(m.role, m.status) for m in messages] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    assert messages[1].content == reply
    assert str(messages[1].id) == done["messageId"]
    assert "pass your question to the team at Rozenhof" in reply


async def test_stream_that_fails_before_any_text_is_a_502(
    database_url, session_factory, db, world, chat_key, lilli_url
):
    async with app_client(
        database_url, session_factory, ai=lilli_settings(lilli_url, "fail")
    ) as client:
        response = await client.post(
            "/api/lilli/chat",
            json={"message": "hi"},
            headers={**chat_key, "Accept": "text/event-stream"},
        )
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "provider_error"
    conversation_id = response.json()["error"]["details"][0]["conversationId"]
    assert [m.role for m in await stored_messages(db, conversation_id)] == ["user"]


async def test_stream_that_breaks_part_way_stores_an_incomplete_reply(
    database_url, session_factory, db, world, chat_key, lilli_url
):
    async with app_client(
        database_url, session_factory, ai=lilli_settings(lilli_url, "stream-break")
    ) as client:
        response = await client.post(
            "/api/ai/agent",
            json={"message": "Tell me a story"},
            headers={**chat_key, "Accept": "text/event-stream"},
        )
    assert response.status_code == 200
    events = parse_sse(response.text)
    assert [name for name, _ in events] == ["delta", "error"]
    error = events[-1][1]
    assert error["code"] == "provider_error"
    messages = await stored_messages(db, error["conversationId"])
    assert [(m.role, m.content, m.status) for m in messages] == [
        ("user", "Tell me a story", "complete"),
        ("assistant", "Once upon ", "incomplete"),
    ]
    assert str(messages[1].id) == error["messageId"]
    assert messages[1].message_metadata == {"provider": "lilli", "endedBy": "provider_error"}


@pytest.mark.parametrize("server_style", ["disconnect_message", "send_raises"])
async def test_client_disconnect_mid_stream_stores_an_incomplete_reply(
    database_url, session_factory, db, world, chat_key, lilli_url, server_style
):
    """The ASGI app driven directly: the client goes away after the first delta, while
    Lilli is still producing. Servers tell in one of two ways: ``receive()`` returns
    ``http.disconnect`` (every server), or ``send()`` raises ``OSError`` (ASGI 2.4)."""
    scenario = "stream-stall" if server_style == "disconnect_message" else "stream-drip"
    ai = lilli_settings(lilli_url, scenario, lilli_timeout_seconds=30)
    async with app_client(database_url, session_factory, ai=ai) as client:
        app = client.app  # type: ignore[attr-defined]
        body = json.dumps({"message": "Tell me a story"}).encode()
        first_delta = asyncio.Event()
        sent: list[dict[str, Any]] = []
        request_read = False

        async def receive() -> dict[str, Any]:
            nonlocal request_read
            if not request_read:
                request_read = True
                return {"type": "http.request", "body": body, "more_body": False}
            await first_delta.wait()
            if server_style == "send_raises":
                await asyncio.sleep(60)  # such a server reports it on send instead
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if first_delta.is_set() and server_style == "send_raises":
                raise OSError("client gone")
            sent.append(message)
            if message["type"] == "http.response.body" and b"event: delta" in message["body"]:
                first_delta.set()

        headers = {
            **chat_key,
            "Host": "testserver",
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
            "Accept": "text/event-stream",
        }
        scope = {
            "type": "http",
            "asgi": {
                "version": "3.0",
                "spec_version": "2.4" if server_style == "send_raises" else "2.3",
            },
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/api/ai/agent",
            "raw_path": b"/api/ai/agent",
            "root_path": "",
            "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        started = time.monotonic()
        await asyncio.wait_for(app(scope, receive, send), timeout=8)
        assert time.monotonic() - started < 5  # stopped at the disconnect, not after Lilli

    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    headers_sent = dict(sent[0]["headers"])
    conversation_id = headers_sent[b"x-conversation-id"].decode()
    message_id = headers_sent[b"x-message-id"].decode()
    bodies = b"".join(m.get("body", b"") for m in sent[1:])
    assert b"event: done" not in bodies
    messages = await stored_messages(db, conversation_id)
    # What Lilli had produced when the client left (the piece whose send failed included).
    assert [(m.role, m.content, m.status) for m in messages] == [
        ("user", "Tell me a story", "complete"),
        ("assistant", "Once upon ", "incomplete"),
    ]
    assert str(messages[1].id) == message_id
    assert messages[1].message_metadata == {"provider": "lilli", "endedBy": "client_disconnect"}


# --- the builtin provider through the API ---------------------------------------------------

# Monday 30 November 2026, 21:30 UTC = Tuesday 1 December, 10:30 in Auckland (UTC+13).
FIXED_NOW = datetime(2026, 11, 30, 21, 30, tzinfo=UTC)
AUCKLAND_CONFIG = {
    "greeting": "Kia ora! I'm Lilli.",
    "businessHours": {
        "weekly": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]]},
        "closedDates": [],
    },
}


async def test_builtin_answers_hours_and_orders_in_the_shops_time_zone(
    client, world, chat_key, db, app
):
    await db.execute(
        update(Shop)
        .where(Shop.id == world.shop.id)
        .values(timezone="Pacific/Auckland", country="NZ", lilli_config=AUCKLAND_CONFIG)
    )
    customer = await create_customer(db, world.shop, name="Aroha Ngata")
    # Placed Monday 20:00 UTC, which is already Tuesday 09:00 in Auckland.
    await create_order(
        db,
        world.shop,
        number="5001",
        customer_id=customer.id,
        status="out_for_delivery",
        delivery_date=date(2026, 12, 2),
        placed_at=datetime(2026, 11, 30, 20, 0, tzinfo=UTC),
    )
    sessions = app.state.session_factory

    def use_clock(moment: datetime) -> None:
        """The provider and the tools it calls read the same (fixed) time."""
        app.state.ai_provider = BuiltinProvider(now=lambda: moment)
        app.state.conversation_tools = lambda principal, conversation_id: ConversationTools(
            sessions, principal, conversation_id, now=lambda: moment
        )

    use_clock(FIXED_NOW)

    async def ask(message: str, **extra: str) -> str:
        response = await client.post(
            "/api/ai/agent", json={"message": message, **extra}, headers=chat_key
        )
        assert response.status_code == 200, response.text
        return str(response.json()["reply"])

    # In UTC it is Monday evening (closed); in Auckland it is Tuesday morning (open).
    assert await ask("Are you open now?") == "Yes, we're open right now, until 5 pm today."
    assert await ask("hello") == "Kia ora! I'm Lilli."
    assert await ask("What is the status of order 5001?") == (
        "Order 5001 is out for delivery. Delivery date: Wednesday 2 December."
    )
    assert await ask("Where is my order?", customerId=str(customer.id)) == (
        "Order 5001 is out for delivery. Delivery date: Wednesday 2 December."
    )
    assert await ask("Can I pay with a gift card?") == (
        "I can't answer that myself. I'll pass your question to the team at Rozenhof. "
        "Someone will get back to you."
    )

    # Tuesday 04:30 UTC (before opening, in UTC) = 17:30 in Auckland: just closed.
    use_clock(datetime(2026, 12, 1, 4, 30, tzinfo=UTC))
    assert await ask("When do you open?") == (
        "We're closed right now. We're open again on Monday 7 December, from 9 am to 5 pm."
    )
