"""Lilli agent scenarios: POST /api/ai/agent with the builtin provider.

The builtin provider answers at once from the shop's own data, so the figure is our own
overhead per chat turn: auth and rate limit, the shop's config, the conversation touched,
two inserts (the user's message, the reply) and one history read, in two commits.

Two conversations show that the history read does not grow with the table: one starts
with 100 messages, the other with 100,000 (and so the table holds more than 100,000);
each request appends two more. The two rows should be level; tests/agent/test_chat_api.py
(``test_history_read_is_one_index_scan_whatever_the_table_size``) checks the plan itself.

The bench sets no AI_PROVIDER, so the service runs the default, builtin; leave
AI_PROVIDER unset in the environment of ``make bench``.
"""

from __future__ import annotations

import uuid
from typing import Any

from bench.database import BENCH_SECRET, BenchContext
from bench.scenarios import Prepared, Scenario, register

# A turn the builtin provider answers without a shop tool (a greeting), so the service's
# statements are the yardstick's (tests/test_statement_counts.py checks both); a turn that
# asks a fact adds the tool's own transaction (8 round trips, counted in the same test).
QUESTION = "Hello again!"
CONFIG: dict[str, Any] = {
    "greeting": "Hi! I'm Lilli.",
    "businessHours": {
        "weekly": {
            day: [["09:00", "12:30"], ["13:00", "18:00"]]
            for day in ("mon", "tue", "wed", "thu", "fri", "sat")
        },
        "closedDates": ["2026-12-25", "2026-12-26"],
    },
}

# Time-sortable ids (UUIDv7 layout: 48-bit millisecond time, version 7, variant 10) in the
# past, one millisecond apart, so seeded messages sort before the ones the bench adds.
SEED_MESSAGES = """
INSERT INTO agent_messages (id, shop_id, conversation_id, role, content, status, created_at)
SELECT
    (lpad(to_hex(floor(extract(epoch FROM now()) * 1000)::bigint - :count - 1000 + g), 12, '0')
     || '7' || substr(md5(random()::text), 1, 3)
     || '8' || substr(md5(random()::text), 1, 15))::uuid,
    :shop_id,
    :conversation_id,
    CASE WHEN g % 2 = 1 THEN 'user' ELSE 'assistant' END,
    CASE WHEN g % 2 = 1 THEN 'Do you have white roses this week? (' || g || ')'
         ELSE 'I''ll pass your question to the team. Someone will get back to you.' END,
    'complete',
    now() - make_interval(secs => (:count - g) / 1000.0)
FROM generate_series(1, :count) AS g
"""


async def _chat_in_conversation_of(
    ctx: BenchContext, messages: int, *, bare: bool = False
) -> Prepared:
    from sqlalchemy import text

    from bloomer_ai.auth.service import create_api_key
    from bloomer_ai.db.tenancy import bind_shop
    from bloomer_ai.kit.ids import new_id
    from bloomer_ai.kit.time import utcnow
    from bloomer_ai.models import AgentConversation
    from bloomer_ai.shops.service import create_shop

    async def make(session):  # type: ignore[no-untyped-def]
        shop = await create_shop(session, name=f"Bench florist (agent, {messages} messages)")
        shop.lilli_config = CONFIG
        conversation = AgentConversation(id=new_id(), shop_id=shop.id, last_message_at=utcnow())
        session.add(conversation)
        await session.flush()
        await session.execute(
            text(SEED_MESSAGES),
            {"count": messages, "shop_id": shop.id, "conversation_id": conversation.id},
        )
        bind_shop(session.sync_session, shop.id)
        issued = await create_api_key(
            session, name="bench", scopes=["agent:chat"], pepper=BENCH_SECRET
        )
        return issued.secret, conversation.id, shop.id

    secret, conversation_id, shop_id = await ctx.run(make)
    # Fresh statistics, as autovacuum would have them on a table that grew this way.
    await ctx.run(lambda session: session.execute(text("ANALYZE agent_messages")))
    body = {"message": QUESTION, "conversationId": str(uuid.UUID(str(conversation_id)))}
    if bare:  # the yardstick takes the shop from its path and has no credentials
        return Prepared(path=f"/db/chat/{shop_id}", body=body)
    return Prepared(headers={"Authorization": f"Bearer {secret}"}, body=body)


async def _chat_100(ctx: BenchContext) -> Prepared:
    return await _chat_in_conversation_of(ctx, 100)


async def _chat_100k(ctx: BenchContext) -> Prepared:
    return await _chat_in_conversation_of(ctx, 100_000)


async def _bare_chat_100(ctx: BenchContext) -> Prepared:
    return await _chat_in_conversation_of(ctx, 100, bare=True)


register(
    Scenario(
        "bare_db_write",
        "POST",
        "/db/chat/{shop}",
        body={"message": QUESTION},
        setup=_bare_chat_100,
        description="bare FastAPI + a psycopg pool: a chat turn's statements and transactions "
        "(the same SQL), the same body model, a constant reply",
        app="bare",
    )
)


register(
    Scenario(
        "agent_chat",
        "POST",
        "/api/ai/agent",
        body={"message": QUESTION},
        setup=_chat_100,
        description="chat turn, builtin provider (instant): auth, rate limit, config, "
        "2 inserts, 1 history read; conversation starts with 100 messages",
        compare_to="bare_db_write",
    )
)
register(
    Scenario(
        "agent_chat_100k",
        "POST",
        "/api/ai/agent",
        body={"message": QUESTION},
        setup=_chat_100k,
        description="the same chat turn in a conversation of 100,000 messages: the history "
        "read (Index Scan Backward + LIMIT) must keep it level with agent_chat",
    )
)
