"""The segment, occasion and send-time queries of a suggestion are index-backed under
row-level security, on tables big enough for the planner to care.

The shop under test has 12,000 customers and 30,000 orders, beside four other shops with
as many (one shop is a small part of the tables, as in production). The rows are
committed, ANALYZEd and VACUUMed, as autovacuum keeps a live database: the visibility map
is what lets PostgreSQL answer from the partial indexes alone (index-only scans). The
statements are the ones the service sends, captured on the wire and explained as the
service's role on its own pool with the shop set, so the policy's condition is part of
each plan.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bloomer_ai.campaigns import service
from bloomer_ai.campaigns.providers import RulesOnly
from bloomer_ai.db.session import make_session_factory
from support.plans import explained_statements

SHOPS = 5
CUSTOMERS = 12_000
ORDERS = 30_000
NOW = datetime(2027, 4, 15, 10, 0, tzinfo=UTC)

SEED_SHOP = """
INSERT INTO shops (id, name, country, timezone) VALUES (:shop, :name, 'NL', 'Europe/Amsterdam')
"""
SEED_CUSTOMERS = """
INSERT INTO customers (id, shop_id, name, phone, email, email_consent, email_consent_at)
SELECT md5(:shop || '/' || g)::uuid, :shop, 'Customer ' || g, '+3161' || lpad(g::text, 7, '0'),
       'customer' || g || '@example.test',
       CASE WHEN g % 3 = 0 THEN NULL ELSE g % 3 = 1 END,
       CASE WHEN g % 3 = 0 THEN NULL ELSE timestamptz '2026-01-01' END
FROM generate_series(1, :customers) AS g
"""
# Two years of orders, one every 35 minutes, a tenth of them cancelled, a twentieth
# without a customer.
SEED_ORDERS = """
INSERT INTO orders (id, shop_id, number, customer_id, status, source, total_minor,
                    placed_at, created_at)
SELECT gen_random_uuid(), :shop, (1000 + g)::text,
       CASE WHEN g % 20 = 0 THEN NULL ELSE md5(:shop || '/' || (1 + g % :customers))::uuid END,
       CASE WHEN g % 10 = 0 THEN 'cancelled' ELSE 'delivered' END, 'web', 2950,
       timestamptz '2025-04-15' + make_interval(mins => g * 35),
       timestamptz '2025-04-15' + make_interval(mins => g * 35)
FROM generate_series(1, :orders) AS g
"""


@pytest.fixture
async def big_shop(engine: AsyncEngine) -> AsyncIterator[uuid.UUID]:
    """Five committed shops of 12,000 customers and 30,000 orders; the first one's id.
    Written as the owner, vacuumed, deleted at the end."""
    shops = [uuid.uuid4() for _ in range(SHOPS)]
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    async with autocommit.connect() as connection:
        await connection.execute(text("SET statement_timeout = 0"))
        try:
            for index, shop in enumerate(shops):
                values = {"shop": shop, "customers": CUSTOMERS, "orders": ORDERS}
                await connection.execute(text(SEED_SHOP), {"shop": shop, "name": f"Big {index}"})
                await connection.execute(text(SEED_CUSTOMERS), values)
                # Statistics first: the orders' foreign-key checks are planned once, and
                # against a never-analysed customers table PostgreSQL may plan a
                # sequential scan for each of them.
                await connection.execute(text("ANALYZE customers"))
                await connection.execute(text(SEED_ORDERS), values)
            # INDEX_CLEANUP ON: rows of earlier tests' rolled-back transactions leave dead
            # line pointers that a lighter VACUUM may leave for later, and their pages out
            # of the visibility map.
            for table in ("customers", "orders"):
                await connection.execute(text(f"VACUUM (ANALYZE, INDEX_CLEANUP ON) {table}"))
            yield shops[0]
        finally:
            for table in ("orders", "customers", "shops"):
                column = "id" if table == "shops" else "shop_id"
                await connection.execute(
                    text(f"DELETE FROM {table} WHERE {column} = ANY(:shops)"), {"shops": shops}
                )


async def test_suggestion_queries_are_index_only_scans(big_shop, app_engine):
    async def suggest(session):
        await service.suggest_campaigns(
            session,
            service.SuggestionQuery(occasion="mothers_day", limit=10),
            writer=RulesOnly(),
            now=NOW,
        )

    statements = await explained_statements(
        make_session_factory(app_engine), big_shop, suggest, marker=" orders o"
    )
    # The customers' histories (segments, and the hours of the last year's orders: either
    # live-order index serves the first, the planner picks), then the occasion's buyers
    # (time windows: the placed-at index), each read from the index alone.
    live = {"ix_orders_shop_customer_live", "ix_orders_shop_placed_live"}
    expected = [live, {"ix_orders_shop_placed_live"}]
    assert len(statements) == len(expected)
    for (statement, nodes), indexes in zip(statements, expected, strict=True):
        where = statement.split("WITH", 1)[-1][:80]
        orders = [node for node in nodes if node.get("Relation Name") == "orders"]
        plan = f"{where}\n{_show(nodes)}"
        assert {node.get("Index Name") for node in orders} <= indexes, plan
        assert all(node["Node Type"] == "Index Only Scan" for node in orders), plan
        assert all(node["Heap Fetches"] <= 200 for node in orders), plan
        # Customers too are read through an index (their shop's), never a whole table.
        assert all(node["Node Type"] != "Seq Scan" for node in nodes), plan
        # The index held the conditions: nothing read only to be thrown away.
        assert all(node.get("Rows Removed by Filter", 0) <= 200 for node in orders), plan


def _show(nodes: list[dict[str, Any]]) -> str:  # for a failing assertion's message
    return "\n".join(
        f"{n['Node Type']} {n.get('Relation Name', '')} {n.get('Index Name', '')} "
        f"rows={n.get('Actual Rows')} removed={n.get('Rows Removed by Filter')}"
        for n in nodes
    )
