"""The yardsticks: bare FastAPI endpoints, served like the service in the same run.

* ``GET /`` — a constant small JSON, no database: what FastAPI itself costs.
* ``POST /orders`` — FastAPI parsing and validating the body ``routing/evaluate`` takes
  into the same pydantic model (``EvaluateRequest``), answering a constant JSON.
* ``POST /db/webhook/{shop}`` — ``bare_webhook``: the body read, its SHA-256 its id, one
  row inserted into the inbox table (``webhook_deliveries``, unique per id) in a
  transaction with the shop setting, a constant ``{}`` answered: what a webhook receiver
  does at the least, next to the voice webhook's verify + store + dedupe + answer.
* On a psycopg 3 pool (``DATABASE_URL``: the service's own role, so row-level security
  applies to both), the **same transaction shapes** the service runs, statement for
  statement — the practical limit for Python here:

  - ``GET /db/select1`` — ``SELECT 1`` on an autocommit connection (``/readyz``'s work);
  - ``GET /db/shops/{id}`` — ``bare_db_read``: BEGIN, the shop setting, one indexed select
    of the shop, COMMIT (``shop_read``'s work);
  - ``POST /db/chat/{shop}`` — ``bare_db_write``: a chat turn's two transactions (the
    shop, the user's message with its conversation touched, the recent history; then the
    reply), with the same body model (``ChatRequest``) and a constant reply.

The SQL below is the text SQLAlchemy emits for the service's statements (printed from
``shops.repository`` and ``agent.repository``); ``tests/test_statement_counts.py`` checks
that it stays so.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from bloomer_ai.agent.schemas import ChatRequest  # the very model chat validates
from bloomer_ai.routing.schemas import EvaluateRequest  # the very model evaluate validates

SET_SHOP = "SELECT set_config('app.shop_id', %(shop_id)s, true)"
SHOP_PROFILE = (
    "SELECT shops.id, shops.name, shops.country, shops.timezone, shops.currency, "
    "shops.lilli_enabled, shops.lilli_config \nFROM shops \nWHERE shops.id = %(shop_id)s::UUID"
)
APPEND_MESSAGE = (
    "WITH touched AS \n(UPDATE agent_conversations SET customer_id=coalesce("
    "agent_conversations.customer_id, %(p_link_customer)s::UUID), last_message_at=now(), "
    "updated_at=now() WHERE agent_conversations.shop_id = %(p_shop_id)s::UUID AND "
    "agent_conversations.id = %(p_conversation_id)s::UUID RETURNING agent_conversations.id, "
    "agent_conversations.customer_id), \nadded AS \n(INSERT INTO agent_messages (id, shop_id, "
    "conversation_id, role, content, status, metadata) SELECT %(p_message_id)s::UUID AS anon_1, "
    "%(p_shop_id)s::UUID AS anon_2, touched.id AS id, %(p_role)s::VARCHAR AS anon_3, "
    "%(p_content)s::VARCHAR AS anon_4, %(p_status)s::VARCHAR AS anon_5, "
    "%(p_metadata)s::JSONB AS anon_6 \nFROM touched)\n SELECT touched.id, touched.customer_id "
    "\nFROM touched"
)
RECENT_MESSAGES = (
    "SELECT agent_messages.id, agent_messages.role, agent_messages.content \n"
    "FROM agent_messages \nWHERE agent_messages.shop_id = %(p_shop_id)s::UUID AND "
    "agent_messages.conversation_id = %(p_conversation_id)s::UUID ORDER BY agent_messages.id "
    "DESC \n LIMIT %(param_1)s::INTEGER"
)
REPLY = "We're open today until 18:00."
BUILTIN = Jsonb({"provider": "builtin"})

pools: dict[str, AsyncConnectionPool] = {}


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    url = os.environ.get("DATABASE_URL")
    if not url:  # the database rows need one; the rest does not
        yield
        return
    pool = AsyncConnectionPool(
        url,
        min_size=2,
        max_size=int(os.environ.get("DB_POOL_SIZE", "10")),
        kwargs={"autocommit": True},  # transactions are explicit, as the service's are
        open=False,
    )
    await pool.open()
    pools["db"] = pool
    try:
        yield
    finally:
        await pool.close()


app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan)


@app.get("/")
async def bare() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/orders")
async def bare_post(order: EvaluateRequest) -> dict[str, str]:
    """The framework's own share of a JSON POST: parse and validate an order-like body."""
    return {"status": "ok"}


@app.get("/db/select1")
async def bare_select1() -> dict[str, str]:
    async with pools["db"].connection() as connection:
        await connection.execute("SELECT 1")
    return {"status": "ready", "database": "ok"}


@app.get("/db/shops/{shop_id}")
async def bare_db_read(shop_id: uuid.UUID) -> dict[str, str]:
    async with pools["db"].connection() as connection, connection.transaction():
        await connection.execute(SET_SHOP, {"shop_id": str(shop_id)})
        cursor = await connection.execute(SHOP_PROFILE, {"shop_id": shop_id})
        row = await cursor.fetchone()
    if row is None:
        raise HTTPException(404)
    return {"id": str(row[0]), "name": row[1], "country": row[2]}


INSERT_DELIVERY = (
    "INSERT INTO webhook_deliveries (id, provider, delivery_id, shop_id, kind, content_type, "
    "raw_body) VALUES (%(id)s, 'bare', %(delivery_id)s, %(shop_id)s, 'voice', "
    "%(content_type)s, %(body)s) ON CONFLICT (provider, delivery_id) DO NOTHING"
)


@app.post("/db/webhook/{shop_id}")
async def bare_webhook(shop_id: uuid.UUID, request: Request) -> dict[str, Any]:
    body = await request.body()
    async with pools["db"].connection() as connection, connection.transaction():
        await connection.execute(SET_SHOP, {"shop_id": str(shop_id)})
        await connection.execute(
            INSERT_DELIVERY,
            {
                "id": uuid.uuid4(),
                "delivery_id": hashlib.sha256(body).hexdigest(),
                "shop_id": shop_id,
                "content_type": request.headers.get("content-type"),
                "body": body,
            },
        )
    return {}


@app.post("/db/chat/{shop_id}")
async def bare_db_write(shop_id: uuid.UUID, body: ChatRequest) -> dict[str, Any]:
    conversation_id = uuid.UUID(str(body.conversation_id))
    message_id = uuid.uuid4()
    async with pools["db"].connection() as connection:
        async with connection.transaction():
            await connection.execute(SET_SHOP, {"shop_id": str(shop_id)})
            shop = await (await connection.execute(SHOP_PROFILE, {"shop_id": shop_id})).fetchone()
            if shop is None:
                raise HTTPException(404)
            await _append(connection, shop_id, conversation_id, "user", body.message)
            await (
                await connection.execute(
                    RECENT_MESSAGES,
                    {"p_shop_id": shop_id, "p_conversation_id": conversation_id, "param_1": 20},
                )
            ).fetchall()
        async with connection.transaction():
            await connection.execute(SET_SHOP, {"shop_id": str(shop_id)})
            await _append(
                connection, shop_id, conversation_id, "assistant", REPLY, message_id, BUILTIN
            )
    return {"reply": REPLY, "conversationId": str(conversation_id), "messageId": str(message_id)}


async def _append(
    connection: Any,
    shop_id: uuid.UUID,
    conversation_id: uuid.UUID,
    role: str,
    content: str,
    message_id: uuid.UUID | None = None,
    metadata: Jsonb | None = None,
) -> None:
    await (
        await connection.execute(
            APPEND_MESSAGE,
            {
                "p_message_id": message_id or uuid.uuid4(),
                "p_shop_id": shop_id,
                "p_role": role,
                "p_content": content,
                "p_status": "complete",
                "p_metadata": metadata,
                "p_link_customer": None,
                "p_conversation_id": conversation_id,
            },
        )
    ).fetchone()
