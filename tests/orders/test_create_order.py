"""``orders.create_order``: the one way this service creates an order (voice and the shop
tools use it). Numbers continue after the shop's highest, concurrent calls never share
one, the customer is found or created by phone, the routing rules' suggestion is kept."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from sqlalchemy import delete, select

from bloomer_ai.db.session import make_operator_session_factory, make_session_factory
from bloomer_ai.db.session import unit_of_work as session_unit
from bloomer_ai.errors import ValidationFailed
from bloomer_ai.models import Customer, Order, OrderNumberCounter
from bloomer_ai.orders.service import DraftItem, OrderDraft, create_order
from bloomer_ai.routing.engine.rule_sets import RuleSetCache
from bloomer_ai.routing.service import route_suggester
from factories.core import create_customer, create_shop
from factories.core import create_order as insert_order
from factories.routing import create_rule_row
from support.committed import committed_shop
from support.sessions import shop_session

ROSES = DraftItem(product_type="bouquet", name="Red roses", quantity=2, unit_price=2950)


def draft(**overrides) -> OrderDraft:
    values = {"items": [ROSES], "source": "voice", "delivery_zone": "centrum"}
    values.update(overrides)
    return OrderDraft(**values)


def suggester():
    return route_suggester(RuleSetCache(trust_feed=False))


async def make(db, shop, order_draft: OrderDraft):
    async with shop_session(db, shop) as session:
        return await create_order(session, order_draft, suggest_route=suggester())


async def test_a_created_order_is_pending_and_awaits_confirmation(db):
    shop = await create_shop(db, country="NL", currency="EUR")
    order, items = await make(db, shop, draft(delivery_date=date(2026, 12, 24)))
    assert order.number == "1"
    assert (order.status, order.needs_confirmation, order.source) == ("pending", True, "voice")
    assert order.total_minor == 5900 and order.currency == "EUR"
    assert order.delivery_date == date(2026, 12, 24)
    assert [(item.name, item.quantity, item.unit_price_minor) for item in items] == [
        ("Red roses", 2, 2950)
    ]


async def test_numbers_continue_after_the_shop_s_highest_numeric_number(db):
    shop, other = await create_shop(db), await create_shop(db)
    for number in ("980", "1149", "WEB-77", "00999"):
        await insert_order(db, shop, number=number)
    await insert_order(db, other, number="5000")
    first, _ = await make(db, shop, draft())
    second, _ = await make(db, shop, draft())
    assert (first.number, second.number) == ("1150", "1151")
    # Another shop counts on its own.
    theirs, _ = await make(db, other, draft())
    assert theirs.number == "5001"


async def test_an_order_numbered_elsewhere_moves_the_counter_on(db):
    shop = await create_shop(db)
    first, _ = await make(db, shop, draft())
    await insert_order(db, shop, number="7000")  # the web app made one meanwhile
    second, _ = await make(db, shop, draft())
    assert (first.number, second.number) == ("1", "7001")
    counter = await db.scalar(
        select(OrderNumberCounter.last_number).where(OrderNumberCounter.shop_id == shop.id)
    )
    assert counter == 7001


async def test_concurrent_calls_never_share_a_number(engine, app_engine):
    """Committed, on the app's own pool: twelve orders at once in twelve transactions."""
    async with committed_shop(engine, name="Busy florist") as (shop, _secret):
        operator = make_operator_session_factory(engine)
        async with session_unit(operator) as session:
            session.add(Order(shop_id=shop.id, number="41", source="web"))
        sessions = make_session_factory(app_engine)
        cache = RuleSetCache(trust_feed=False)

        async def one() -> str:
            async with session_unit(sessions, shop_id=shop.id) as session:
                order, _ = await create_order(
                    session, draft(), suggest_route=route_suggester(cache)
                )
                await asyncio.sleep(0.01)  # hold the transaction open a little
                return order.number

        numbers = await asyncio.gather(*(one() for _ in range(12)))
        assert sorted(int(number) for number in numbers) == list(range(42, 54))
        async with session_unit(operator) as session:
            await session.execute(delete(Order).where(Order.shop_id == shop.id))


async def test_the_customer_is_found_by_any_spelling_of_their_phone(db):
    shop = await create_shop(db, country="NL")
    anna = await create_customer(db, shop, name="Anna de Vries", phone="+31612345678")
    order, _ = await make(db, shop, draft(customer_phone="06 1234 5678", customer_name="A."))
    assert order.customer_id == anna.id
    assert (await db.get(Customer, anna.id)).name == "Anna de Vries"  # not overwritten


async def test_an_unknown_phone_makes_a_new_customer_of_this_shop(db):
    shop, other = await create_shop(db, country="NL"), await create_shop(db, country="NL")
    theirs = await create_customer(db, other, phone="+31687654321")
    order, _ = await make(db, shop, draft(customer_phone="+31 6 8765 4321", customer_name="Bo"))
    assert order.customer_id is not None and order.customer_id != theirs.id
    created = await db.get(Customer, order.customer_id)
    assert (created.shop_id, created.name, created.phone) == (shop.id, "Bo", "+31687654321")
    again, _ = await make(db, shop, draft(customer_phone="0687654321"))
    assert again.customer_id == created.id


async def test_a_phone_that_is_no_number_is_refused(db):
    shop = await create_shop(db, country="NL")
    with pytest.raises(ValidationFailed) as refused:
        await make(db, shop, draft(customer_phone="call me maybe"))
    assert refused.value.details[0]["field"] == "phone"
    assert await db.scalar(select(Order.id).where(Order.shop_id == shop.id)) is None


async def test_an_order_without_items_is_refused(db):
    shop = await create_shop(db)
    with pytest.raises(ValidationFailed, match="at least one item"):
        await make(db, shop, draft(items=[]))


async def test_the_routing_rules_suggestion_is_stored_with_the_order(db):
    shop = await create_shop(db, country="NL")
    workshop = await create_rule_row(
        db,
        shop,
        name="North to the workshop",
        conditions={"==": [{"var": "deliveryZone"}, "north"]},
        action={"type": "assign", "target": {"kind": "team", "id": "workshop"}},
    )
    north, _ = await make(db, shop, draft(delivery_zone="north"))
    south, _ = await make(db, shop, draft(delivery_zone="south"))
    assert north.routing_suggestion["matchedRuleIds"] == [str(workshop.id)]
    assert north.routing_suggestion["suggestedRoute"]["target"] == {
        "kind": "team",
        "id": "workshop",
    }
    assert south.routing_suggestion == {
        "suggestedRoute": None,
        "matchedRuleIds": [],
        "evaluatedRules": 1,
    }
