"""The bot's context reads by index only, on tables big enough for the planner to care:
12,000 customers, 24,000 orders with an item each and 12,000 support events per shop, two
shops, ANALYZEd. The statements are the ones the services send, captured on the wire and
explained as the service's role with the shop set (row-level security in the plan)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event, text

from bloomer_ai.customers import service as customers
from bloomer_ai.db.session import unit_of_work
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.orders import service as orders
from bloomer_ai.support import service as support
from factories.core import create_shop

CUSTOMERS = 12_000
ORDERS = 24_000
EVENTS = 12_000

SEED = """
INSERT INTO customers (id, shop_id, name, phone, email)
SELECT md5(:shop || '/' || g)::uuid, :shop, 'Name ' || g,
       '+3161' || lpad(g::text, 7, '0'), 'customer' || g || '@Example.test'
FROM generate_series(1, :customers) AS g;

INSERT INTO orders (id, shop_id, number, customer_id, status, source, total_minor,
                    created_at, placed_at)
SELECT md5(:shop || '/o/' || g)::uuid, :shop, (1000 + g)::text,
       md5(:shop || '/' || (1 + g % :customers))::uuid,
       (ARRAY['pending','confirmed','delivered','cancelled'])[1 + g % 4], 'web', 2950,
       timestamptz '2026-01-01' + make_interval(mins => g * 20),
       timestamptz '2026-01-01' + make_interval(mins => g * 20)
FROM generate_series(1, :orders) AS g;

INSERT INTO order_items (id, shop_id, order_id, product_type, name, quantity)
SELECT gen_random_uuid(), :shop, md5(:shop || '/o/' || g)::uuid, 'bouquet', 'Roses', 1
FROM generate_series(1, :orders) AS g;

INSERT INTO support_events (id, shop_id, type, channel, provider, delivery_id,
                            external_conversation_id, customer_id, payload, created_at)
SELECT gen_random_uuid(), :shop,
       (ARRAY['conversation.created','message.created','handoff.requested'])[1 + g % 3],
       (ARRAY['chat','email','sms','whatsapp'])[1 + g % 4], 'lilli', 'd' || g,
       'conv-' || (g % 3000), md5(:shop || '/' || (1 + g % :customers))::uuid, '{}',
       timestamptz '2026-01-01' + make_interval(mins => g)
FROM generate_series(1, :events) AS g;
"""


@pytest.fixture
async def big_shops(db, connection):
    shops = [await create_shop(db, country="NL"), await create_shop(db, country="NL")]
    await connection.execute(text("SET LOCAL statement_timeout = 0"))
    values = {"customers": CUSTOMERS, "orders": ORDERS, "events": EVENTS}
    for shop in shops:
        for statement in SEED.split(";\n\n"):
            # Statistics before rows with foreign keys: otherwise each check may be planned
            # as a sequential scan of a never-analysed table (minutes, not a second).
            for table in ("customers", "orders"):
                await connection.execute(text(f"ANALYZE {table}"))
            await connection.execute(text(statement), {"shop": shop.id, **values})
    for table in ("customers", "orders", "order_items", "support_events"):
        await connection.execute(text(f"ANALYZE {table}"))
    return shops


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


async def plan_of(
    connection, session_factory, shop_id: uuid.UUID, table: str, action: Callable[[Any], Awaitable]
) -> list[dict[str, Any]]:
    """The plan of the last statement ``action`` sent that reads ``table``."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if f"FROM {table}" in statement:
            captured.append((statement, parameters))

    sync_connection = connection.sync_connection
    async with unit_of_work(session_factory, shop_id=shop_id) as session:
        event.listen(sync_connection, "before_cursor_execute", capture)
        try:
            await action(session)
        finally:
            event.remove(sync_connection, "before_cursor_execute", capture)
        assert captured, f"no statement on {table}"
        statement, parameters = captured[-1]
        explained = await (await session.connection()).exec_driver_sql(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters
        )
        return list(_nodes(explained.scalar_one()[0]["Plan"]))


def assert_index_scan(nodes: list[dict[str, Any]], table: str, *indexes: str) -> None:
    scans = [node for node in nodes if node.get("Relation Name") == table]
    assert scans, nodes
    assert all(node["Node Type"] != "Seq Scan" for node in scans), scans
    # A bitmap heap scan reads through the bitmap index scan below it.
    used = {node.get("Index Name") for node in scans} | {
        node.get("Index Name") for node in nodes if node["Node Type"] == "Bitmap Index Scan"
    }
    assert used & set(indexes), f"{indexes} not in {used}"
    assert all(node.get("Rows Removed by Filter", 0) <= 200 for node in scans), scans


async def test_the_context_lookups_are_index_scans(big_shops, connection, session_factory):
    shop = big_shops[0]
    customer_id = (
        await connection.execute(
            text("SELECT id FROM customers WHERE shop_id = :shop AND phone = '+31610000042'"),
            {"shop": shop.id},
        )
    ).scalar_one()
    find = customers.find_customer
    cases: list[tuple[str, str, Callable[[Any], Awaitable], tuple[str, ...]]] = [
        (
            "customer by phone",
            "customers",
            lambda s: find(s, phone="06 1000 0042", email=None, country="NL"),
            ("uq_customers_shop_id_phone",),
        ),
        (
            "customer by e-mail",
            "customers",
            lambda s: find(s, phone=None, email="CUSTOMER42@example.test", country="NL"),
            ("ix_customers_shop_email_lower",),
        ),
        (
            "customer by id",
            "customers",
            lambda s: customers.get_customer(s, customer_id),
            ("pk_customers", "uq_customers_shop_id_id"),
        ),
        (
            "the customer's recent orders and open count",
            "orders",
            lambda s: orders.customer_glance(s, customer_id),
            ("ix_orders_shop_customer_placed",),
        ),
        (
            "their items",
            "order_items",
            lambda s: orders.customer_glance(s, customer_id),
            ("ix_order_items_order_id",),
        ),
        (
            "events of a customer",
            "support_events",
            lambda s: support.list_events(s, PageParams(limit=20), customer_id=str(customer_id)),
            ("ix_support_events_shop_customer_id",),
        ),
        (
            "events of a conversation",
            "support_events",
            lambda s: support.list_events(s, PageParams(limit=20), conversation_id="conv-42"),
            ("ix_support_events_shop_conversation_id",),
        ),
        (
            "events of a type",
            "support_events",
            lambda s: support.list_events(s, PageParams(limit=20), type="handoff.requested"),
            ("ix_support_events_shop_type_id", "ix_support_events_shop_id_id"),
        ),
    ]
    for name, table, action, indexes in cases:
        nodes = await plan_of(connection, session_factory, shop.id, table, action)
        try:
            assert_index_scan(nodes, table, *indexes)
        except AssertionError as failure:
            raise AssertionError(f"{name}: {failure}") from None
