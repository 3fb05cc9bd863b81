"""`bloomer-ai serve --demo`: seeded once, and the printed credentials work."""

from __future__ import annotations

from sqlalchemy import func, select

from bloomer_ai.agent.config.schema import AgentConfig
from bloomer_ai.demo import DEMO_SHOP_NAME, describe_demo, seed_demo
from bloomer_ai.models import Customer, Order, OrderRoutingRule, Shop


async def _count(db, model, shop_id):
    return await db.scalar(select(func.count()).select_from(model).where(model.shop_id == shop_id))


async def test_demo_is_seeded_once_and_its_credentials_work(db, client, settings):
    first = await seed_demo(db, settings)
    assert first.created
    shop = await db.scalar(select(Shop).where(Shop.name == DEMO_SHOP_NAME))
    assert shop is not None
    assert await _count(db, Customer, shop.id) == 40
    assert await _count(db, Order, shop.id) == 320
    assert await _count(db, OrderRoutingRule, shop.id) == 3
    AgentConfig.model_validate(shop.lilli_config)  # the seeded config is a valid one

    second = await seed_demo(db, settings)
    assert not second.created and second.shop_id == first.shop_id
    assert await _count(db, Order, shop.id) == 320  # nothing seeded twice

    old_key = first.extras["API key (all scopes)"]
    new_key = second.extras["API key (all scopes)"]
    assert (await client.get("/api/ai/me", headers={"X-API-Key": old_key})).status_code == 401
    me = await client.get("/api/ai/me", headers={"X-API-Key": new_key})
    assert me.status_code == 200 and me.json()["shop"]["name"] == DEMO_SHOP_NAME

    token = second.extras["Sign-in token (NextAuth database session, 7 days)"]
    me = await client.get("/api/ai/me", headers={"Cookie": f"next-auth.session-token={token}"})
    assert me.status_code == 200 and me.json()["role"] == "owner"

    reply = await client.post(
        "/api/ai/agent", json={"message": "Are you open?"}, headers={"X-API-Key": new_key}
    )
    assert reply.status_code == 200
    assert "don't have the opening hours" not in reply.json()["reply"]

    printed = describe_demo(second, "127.0.0.1", 8000)
    assert new_key in printed and "http://127.0.0.1:8000/api/ai/me" in printed
