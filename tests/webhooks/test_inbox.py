import asyncio

from sqlalchemy import func, select

from bloomer_ai.db.session import unit_of_work
from bloomer_ai.models import WebhookDelivery
from bloomer_ai.webhooks.inbox import record_delivery
from factories.core import create_shop


async def test_first_delivery_is_new_and_replay_is_not(db):
    shop = await create_shop(db)
    assert await record_delivery(db, provider="lilli", delivery_id="msg_1", shop_id=shop.id)
    assert not await record_delivery(db, provider="lilli", delivery_id="msg_1", shop_id=shop.id)
    # The same id from another provider is another delivery.
    assert await record_delivery(db, provider="twilio", delivery_id="msg_1", shop_id=shop.id)
    count = await db.scalar(
        select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.shop_id == shop.id)
    )
    assert count == 2


async def test_rolled_back_delivery_can_be_processed_again(session_factory, db):
    shop = await create_shop(db)
    try:
        async with unit_of_work(session_factory, shop_id=shop.id) as session:
            assert await record_delivery(
                session, provider="lilli", delivery_id="msg_2", shop_id=shop.id
            )
            raise RuntimeError("the effect failed")
    except RuntimeError:
        pass
    async with unit_of_work(session_factory, shop_id=shop.id) as session:
        assert await record_delivery(
            session, provider="lilli", delivery_id="msg_2", shop_id=shop.id
        )


async def test_concurrent_replays_are_recorded_once(engine, app_engine):
    """Three transactions (the app role, its own pool) racing on one delivery id: exactly
    one wins (real concurrency)."""
    from bloomer_ai.db.session import make_session_factory
    from support.committed import committed_shop

    factory = make_session_factory(app_engine)
    delivery_id = f"race-{id(engine)}-{asyncio.get_running_loop().time()}"
    async with committed_shop(engine, name="Race") as (shop, _secret):

        async def attempt() -> bool:
            async with unit_of_work(factory, shop_id=shop.id) as session:
                return await record_delivery(
                    session, provider="race", delivery_id=delivery_id, shop_id=shop.id
                )

        results = await asyncio.gather(attempt(), attempt(), attempt())
    assert sorted(results) == [False, False, True]
