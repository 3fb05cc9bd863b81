"""Every order and customer lookup is an index scan, on tables big enough for the planner
to care: two shops with 12,000 customers and 24,000 orders each, ANALYZEd (on a
near-empty table PostgreSQL rightly prefers a sequential scan, which would prove
nothing). The statements are the ones the services send, captured on the wire and
explained as the service's role with the shop set, so row-level security's condition is
part of the plan."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import event, text

from bloomer_ai.customers import service as customers
from bloomer_ai.db.session import unit_of_work
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.orders import service as orders
from bloomer_ai.orders.repository import OrderFilters
from factories.core import create_shop

CUSTOMERS = 12_000
ORDERS = 24_000
FIRST_NAMES = ["Anna", "Bram", "Chris", "Daan", "Eva", "Fleur", "Gijs", "Hanna", "Iris", "Joost"]

SEED = """
INSERT INTO customers (id, shop_id, name, phone, email)
SELECT md5(:shop || '/' || g)::uuid, :shop,
       (CAST(:names AS text[]))[1 + g % 10] || ' ' || md5(g::text),
       '+3161' || lpad(g::text, 7, '0'),
       CASE WHEN g % 2 = 0 THEN 'Customer' ELSE 'customer' END || g || '@Example.test'
FROM generate_series(1, :customers) AS g;

INSERT INTO orders (id, shop_id, number, customer_id, status, source, delivery_date,
                    total_minor, created_at, placed_at)
SELECT gen_random_uuid(), :shop, (1000 + g)::text,
       md5(:shop || '/' || (1 + g % :customers))::uuid,
       (ARRAY['pending','confirmed','in_progress','ready','out_for_delivery','delivered',
              'picked_up','cancelled'])[1 + g % 8],
       (ARRAY['web','phone','voice','chat','walk_in','marketplace','api'])[1 + g % 7],
       date '2026-01-01' + (g % 365),
       2950,
       timestamptz '2026-01-01' + make_interval(mins => g * 20),
       timestamptz '2026-01-01' + make_interval(mins => g * 20)
FROM generate_series(1, :orders) AS g;
"""


@pytest.fixture
async def big_shops(db, connection):
    shops = [await create_shop(db, country="NL"), await create_shop(db, country="NL")]
    # Set-up, not the service: no statement timeout for 72,000 rows on a busy machine.
    await connection.execute(text("SET LOCAL statement_timeout = 0"))
    for shop in shops:
        for statement in SEED.split(";\n\n"):
            # Statistics first: the orders' foreign-key checks are planned once, and against
            # a never-analysed customers table PostgreSQL may plan a sequential scan for
            # each of 24,000 checks (minutes instead of a second).
            await connection.execute(text("ANALYZE customers"))
            await connection.execute(
                text(statement),
                {
                    "shop": shop.id,
                    "names": FIRST_NAMES,
                    "customers": CUSTOMERS,
                    "orders": ORDERS,
                },
            )
    await connection.execute(text("ANALYZE customers"))
    await connection.execute(text("ANALYZE orders"))
    return shops


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


async def plan_of(
    connection, session_factory, shop_id: uuid.UUID, table: str, action: Callable[[Any], Awaitable]
) -> list[dict[str, Any]]:
    """The plan nodes of the last statement that ``action`` sent reading (or, for a table
    given as ``INTO name``, writing) ``table``."""
    captured: list[tuple[str, Any]] = []
    marker = table if table.startswith("INTO ") else f"FROM {table}"

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if marker in statement:
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
        # A write is planned, not run again (it would insert a second time).
        options = "FORMAT JSON" if table.startswith("INTO ") else "ANALYZE, FORMAT JSON"
        explained = await (await session.connection()).exec_driver_sql(
            f"EXPLAIN ({options}) " + statement, parameters
        )
        return list(_nodes(explained.scalar_one()[0]["Plan"]))


def assert_index_scan(nodes: list[dict[str, Any]], table: str, *indexes: str) -> None:
    """Only index scans on ``table``, one of them on one of ``indexes``, and none that
    reads far more rows than it keeps (a filter the index could not apply)."""
    scans = [node for node in nodes if node.get("Relation Name") == table]
    assert scans, nodes
    assert all(node["Node Type"] != "Seq Scan" for node in scans), scans
    used = {node.get("Index Name") for node in scans}
    assert used & set(indexes), f"{indexes} not in {used}"
    assert all(node.get("Rows Removed by Filter", 0) <= 200 for node in scans), scans


PAGE = PageParams(limit=20)
OLDER = datetime(2026, 6, 1, tzinfo=UTC)


ORDER_LISTS = [
    ("newest first", OrderFilters(), "uq_orders_shop_id_id"),
    ("source", OrderFilters(source="voice"), "ix_orders_shop_source_id"),
    ("status", OrderFilters(status="pending"), "ix_orders_shop_status_id"),
    ("number", OrderFilters(number="1149"), "uq_orders_shop_id_number"),
    (
        "delivery dates",
        OrderFilters(delivery_from=date(2026, 3, 1), delivery_to=date(2026, 3, 2)),
        "ix_orders_shop_delivery_date",
    ),
    (
        "created range",
        OrderFilters(created_from=OLDER, created_to=datetime(2026, 6, 2, tzinfo=UTC)),
        "ix_orders_shop_created_at",
    ),
]


# One seeded database per test (seeding is most of the time): each test walks its cases.


async def test_order_lookups_are_index_scans(big_shops, connection, session_factory):
    shop = big_shops[0]
    customer_id, order_id = (
        await connection.execute(
            text("SELECT customer_id, id FROM orders WHERE shop_id = :shop AND number = '1149'"),
            {"shop": shop.id},
        )
    ).one()
    cases: list[tuple[str, Callable[[Any], Awaitable], tuple[str, ...]]] = [
        (name, lambda s, f=filters: orders.list_orders(s, PAGE, f), (index,))
        for name, filters, index in ORDER_LISTS
    ]
    cases += [
        (
            "a customer's orders",
            lambda s: orders.list_orders(s, PAGE, OrderFilters(customer_id=customer_id)),
            ("ix_orders_shop_customer_placed",),
        ),
        ("by id", lambda s: orders.get_order(s, order_id), ("pk_orders", "uq_orders_shop_id_id")),
        (
            "by number",
            lambda s: orders.get_order_by_number(s, "1149"),
            ("uq_orders_shop_id_number",),
        ),
    ]
    for name, action, indexes in cases:
        nodes = await plan_of(connection, session_factory, shop.id, "orders", action)
        try:
            assert_index_scan(nodes, "orders", *indexes)
            # A page stops early: no sort of every matching row.
            assert all(n["Node Type"] != "Sort" or n["Actual Rows"] <= 200 for n in nodes)
        except AssertionError as failure:
            raise AssertionError(f"orders {name}: {failure}") from None


async def test_customer_lookups_and_the_next_number_are_index_scans(
    big_shops, connection, session_factory
):
    from bloomer_ai.orders.service import DraftItem, OrderDraft, create_order
    from bloomer_ai.routing.engine.rule_sets import RuleSetCache
    from bloomer_ai.routing.service import route_suggester

    shop = big_shops[0]
    customer_id, name = (
        await connection.execute(
            text("SELECT id, name FROM customers WHERE shop_id = :shop LIMIT 1"),
            {"shop": shop.id},
        )
    ).one()
    # The start of a real name, rare enough to be worth the index, in another case.
    prefix = name[: len(name.split()[0]) + 4].upper()
    for query, index in [
        ({"phone": "06 1000 0042"}, "uq_customers_shop_id_phone"),
        ({"email": "CUSTOMER42@example.TEST"}, "ix_customers_shop_email_lower"),
        ({"name_prefix": prefix}, "ix_customers_shop_name_prefix"),
    ]:
        nodes = await plan_of(
            connection,
            session_factory,
            shop.id,
            "customers",
            lambda s, q=query: customers.search_customers(s, PAGE, country="NL", **q),
        )
        try:
            assert_index_scan(nodes, "customers", index)
        except AssertionError as failure:
            raise AssertionError(f"customers by {query}: {failure}") from None
    by_id = await plan_of(
        connection,
        session_factory,
        shop.id,
        "customers",
        lambda s: customers.get_customer(s, customer_id),
    )
    assert_index_scan(by_id, "customers", "pk_customers", "uq_customers_shop_id_id")

    # The order-number counter finds the shop's highest numeric number through the
    # partial index (the regular expression is the index's predicate, not a filter).
    item = DraftItem(product_type="bouquet", name="Roses")
    nodes = await plan_of(
        connection,
        session_factory,
        shop.id,
        "INTO order_number_counters",
        lambda session: create_order(
            session,
            OrderDraft(items=[item], source="voice"),
            suggest_route=route_suggester(RuleSetCache(trust_feed=False)),
        ),
    )
    scans = [n for n in nodes if n.get("Relation Name") == "orders" and "Scan" in n["Node Type"]]
    assert scans and all(n.get("Index Name") == "ix_orders_shop_numeric_number" for n in scans)


async def test_searches_find_what_they_say(big_shops, session_factory):
    """The same lookups, by result: any phone spelling, any e-mail case, a name prefix; the
    other shop has the same phone numbers and e-mails, and none of its customers come back."""
    shop = big_shops[0]
    async with unit_of_work(session_factory, shop_id=shop.id) as session:
        found, _ = await customers.search_customers(
            session, PAGE, country="NL", phone="06 1000 0042"
        )
        assert [(c.phone, c.shop_id) for c in found] == [("+31610000042", shop.id)]
        found, _ = await customers.search_customers(
            session, PAGE, country="NL", email="CUSTOMER42@example.TEST"
        )
        assert [(c.email, c.shop_id) for c in found] == [("Customer42@Example.test", shop.id)]
        found, cursor = await customers.search_customers(
            session, PageParams(limit=100), country="NL", name_prefix="fleur "
        )
        assert len(found) == 100 and cursor is not None
        assert all(c.name.startswith("Fleur ") and c.shop_id == shop.id for c in found)
