"""The retention purge (``integrations.service.purge_expired``): across shops, through the
SECURITY DEFINER functions; raw bodies and answers go, delivery records stay (a late repeat
is still a repeat), expired idempotency keys go. And concurrent copies of one delivery over
HTTP: one effect."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select, text

from bloomer_ai.config import WebhookSettings
from bloomer_ai.db.session import make_operator_session_factory, unit_of_work
from bloomer_ai.integrations.inbound.handlers import InboundEvent, InboundReply
from bloomer_ai.integrations.service import purge_expired
from bloomer_ai.kit.ids import new_id
from bloomer_ai.kit.time import utcnow
from bloomer_ai.main import create_app
from bloomer_ai.models import IdempotencyKey, WebhookDelivery
from conftest import make_settings
from factories.core import create_shop
from factories.integrations import DEFAULT_SECRETS, create_integration
from support import signing
from support.committed import committed_shop

WEEK = timedelta(days=7)


async def add_delivery(db, shop, *, age: timedelta, body: bytes = b"{}") -> WebhookDelivery:
    row = WebhookDelivery(
        provider="vapi",
        delivery_id=f"test:{new_id()}",
        shop_id=shop.id,
        kind="voice",
        raw_body=body,
        response_status=200,
        response_body=b"{}",
        response_content_type="application/json",
        received_at=utcnow() - age,
    )
    db.add(row)
    await db.flush()
    return row


async def add_key(db, shop, *, expires_in: timedelta) -> IdempotencyKey:
    row = IdempotencyKey(
        shop_id=shop.id,
        key=f"key-{new_id()}",
        request_hash=b"\0" * 32,
        method="POST",
        path="/x",
        response_status=201,
        response_body=b"{}",
        expires_at=utcnow() + expires_in,
    )
    db.add(row)
    await db.flush()
    return row


async def test_purge_spans_shops_and_keeps_the_records(db, session_factory) -> None:
    a, b = await create_shop(db), await create_shop(db)
    old_a = await add_delivery(db, a, age=timedelta(days=8), body=b'{"phone":"+31612345678"}')
    old_b = await add_delivery(db, b, age=timedelta(days=30))
    fresh = await add_delivery(db, a, age=timedelta(days=6))
    expired = [
        await add_key(db, a, expires_in=-timedelta(minutes=1)),
        await add_key(db, b, expires_in=-timedelta(days=2)),
    ]
    live = await add_key(db, b, expires_in=timedelta(hours=1))

    # The service's role, with no shop bound (as a periodic job runs).
    async with unit_of_work(session_factory) as session:
        # By hand it could not: row-level security shows it no shop's rows.
        by_hand = await session.execute(text("UPDATE webhook_deliveries SET raw_body = NULL"))
        assert by_hand.rowcount == 0
        purged = await purge_expired(session, webhook_retention=WEEK)
        again = await purge_expired(session, webhook_retention=WEEK)
    assert purged.webhook_bodies >= 2 and purged.idempotency_keys >= 2
    assert (again.webhook_bodies, again.idempotency_keys) == (0, 0)

    for row in (old_a, old_b, fresh):
        await db.refresh(row)
    for row in (old_a, old_b):
        assert row.raw_body is None and row.response_body is None
        assert row.purged_at is not None
        assert row.delivery_id  # the record stays: a late repeat is still known
    assert fresh.raw_body == b"{}" and fresh.purged_at is None
    remaining = set(
        (
            await db.scalars(
                select(IdempotencyKey.id).where(IdempotencyKey.shop_id.in_([a.id, b.id]))
            )
        ).all()
    )
    assert remaining == {live.id}
    assert not {row.id for row in expired} & remaining


async def test_purge_takes_the_moment_it_is_given(db, session_factory) -> None:
    shop = await create_shop(db)
    row = await add_delivery(db, shop, age=timedelta(hours=1))
    async with unit_of_work(session_factory) as session:
        await purge_expired(session, webhook_retention=WEEK, now=utcnow() + timedelta(days=6))
        assert (await db.get(WebhookDelivery, row.id)).raw_body == b"{}"
        await purge_expired(session, webhook_retention=WEEK, now=utcnow() + timedelta(days=8))
    await db.refresh(row)
    assert row.raw_body is None


async def test_a_repeat_after_the_purge_is_still_a_repeat(app, client, db, session_factory):
    shop = await create_shop(db)
    vapi = await create_integration(db, shop, "vapi")
    calls: list[InboundEvent] = []

    async def handler(session: Any, event: InboundEvent) -> InboundReply:
        calls.append(event)
        return InboundReply(200, b'{"first":true}')

    app.state.inbound_handlers.register("voice", "vapi", handler, replace=True)
    body, headers = signing.vapi_secret(
        DEFAULT_SECRETS["vapi"]["serverSecret"], signing.vapi_message()
    )
    url = f"/api/ai/voice/webhook/{vapi.id}"
    assert (await client.post(url, content=body, headers=headers)).json() == {"first": True}
    async with unit_of_work(session_factory) as session:
        await purge_expired(session, webhook_retention=WEEK, now=utcnow() + timedelta(days=8))
    later = await client.post(url, content=body, headers=headers)
    assert later.status_code == 200 and later.json() == {}  # acknowledged, not handled
    assert len(calls) == 1


async def test_concurrent_copies_of_a_delivery_have_one_effect(engine, database_target) -> None:
    """Committed rows, the app on its own pool: copies race on the inbox's unique index."""
    calls: list[InboundEvent] = []

    async def slow_handler(session: Any, event: InboundEvent) -> InboundReply:
        calls.append(event)
        await asyncio.sleep(0.2)  # the copies arrive while the first is still working
        return InboundReply(200, b'{"handled":1}')

    async with committed_shop(engine, name="Inbox race") as (shop, _secret):
        async with unit_of_work(make_operator_session_factory(engine)) as owner:
            vapi = await create_integration(owner, shop, "vapi")
        settings = make_settings(
            database_target.operator_url, webhooks=WebhookSettings(_env_file=None)
        )
        app = create_app(settings, database=database_target)
        async with (
            app.router.lifespan_context(app),
            AsyncClient(transport=ASGITransport(app=app), base_url="http://race") as client,
        ):
            app.state.inbound_handlers.register("voice", "vapi", slow_handler, replace=True)
            body, headers = signing.vapi_secret(
                DEFAULT_SECRETS["vapi"]["serverSecret"], signing.vapi_message()
            )
            answers = await asyncio.gather(
                *(
                    client.post(f"/api/ai/voice/webhook/{vapi.id}", content=body, headers=headers)
                    for _ in range(5)
                )
            )
        assert [answer.status_code for answer in answers] == [200] * 5
        assert {answer.content for answer in answers} == {b'{"handled":1}'}
        assert len(calls) == 1
        async with engine.connect() as connection:
            recorded = await connection.scalar(
                select(func.count())
                .select_from(WebhookDelivery)
                .where(WebhookDelivery.shop_id == shop.id)
            )
        assert recorded == 1  # deleted with the shop (ON DELETE CASCADE)
