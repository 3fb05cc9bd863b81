"""Campaign suggestions on a shop with 100,000 orders.

``POST /api/ai/campaigns/suggest`` with an empty body (the next three occasions, the best
audience of each): aggregate statements over the shop's live orders (segments by
consent, the occasions' past windows, orders by weekday and hour), each an index-only
scan of a partial index of migration 0010 (``tests/campaigns/test_suggest_plans.py``
checks the plans). The shop has 20,000 customers (a third consented to e-mail, a third
never asked, a third refused) and 100,000 orders over two years, a tenth cancelled; the
tables are vacuumed and analysed after seeding, as autovacuum keeps a live database.
"""

from __future__ import annotations

from bench.database import BENCH_SECRET, BenchContext
from bench.scenarios import Prepared, Scenario, register

CUSTOMERS = 20_000
ORDERS = 100_000
OTHER_SHOPS = 4

SEED_CUSTOMERS = """
INSERT INTO customers (id, shop_id, name, phone, email, email_consent, email_consent_at)
SELECT md5(:shop || '/' || g)::uuid, :shop, 'Customer ' || g, '+3162' || lpad(g::text, 7, '0'),
       'customer' || g || '@example.test',
       CASE WHEN g % 3 = 0 THEN NULL ELSE g % 3 = 1 END,
       CASE WHEN g % 3 = 0 THEN NULL ELSE now() - interval '400 days' END
FROM generate_series(1, :customers) AS g
"""
# Two years up to now, one order every 10.5 minutes; customers by a spread-out hash.
SEED_ORDERS = """
INSERT INTO orders (id, shop_id, number, customer_id, status, source, total_minor,
                    placed_at, created_at)
SELECT gen_random_uuid(), :shop, (5000 + g)::text,
       CASE WHEN g % 25 = 0 THEN NULL
            ELSE md5(:shop || '/' || (1 + (g * 7919) % :customers))::uuid END,
       CASE WHEN g % 10 = 0 THEN 'cancelled' ELSE 'delivered' END, 'web', 2950,
       now() - make_interval(secs => g * 630), now() - make_interval(secs => g * 630)
FROM generate_series(1, :orders) AS g
"""


async def _shop_with_history(ctx: BenchContext) -> Prepared:
    import psycopg
    from sqlalchemy import text

    from bloomer_ai.auth.service import create_api_key
    from bloomer_ai.db.tenancy import bind_shop
    from bloomer_ai.kit.database_urls import libpq_url
    from bloomer_ai.shops.service import create_shop

    async def make(session):  # type: ignore[no-untyped-def]
        shop = await create_shop(
            session, name="Bench florist (campaigns)", country="NL", timezone="Europe/Amsterdam"
        )
        await session.execute(text("SET LOCAL statement_timeout = 0"))
        values = {"shop": shop.id, "customers": CUSTOMERS, "orders": ORDERS}
        await session.execute(text(SEED_CUSTOMERS), values)
        # Statistics first: against a never-analysed customers table the orders' foreign-key
        # checks may be planned as sequential scans (minutes instead of seconds).
        await session.execute(text("ANALYZE customers"))
        await session.execute(text(SEED_ORDERS), values)
        for index in range(OTHER_SHOPS):
            other = await create_shop(session, name=f"Bench florist (campaigns, other {index})")
            values = {"shop": other.id, "customers": CUSTOMERS, "orders": ORDERS}
            await session.execute(text(SEED_CUSTOMERS), values)
            await session.execute(text(SEED_ORDERS), values)
        bind_shop(session.sync_session, shop.id)
        issued = await create_api_key(
            session, name="bench", scopes=["campaigns:suggest"], pepper=BENCH_SECRET
        )
        return issued.secret

    secret = await ctx.run(make)
    # VACUUM runs outside a transaction: it sets the visibility map index-only scans need.
    with psycopg.connect(libpq_url(ctx.database.url), autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE) customers")
        connection.execute("VACUUM (ANALYZE) orders")
    return Prepared(headers={"Authorization": f"Bearer {secret}"})


register(
    Scenario(
        "campaigns_suggest_100k",
        "POST",
        "/api/ai/campaigns/suggest",
        body={},
        setup=_shop_with_history,
        description=f"campaign suggestions (next 3 occasions, best audience each) for a shop of "
        f"{CUSTOMERS:,} customers and {ORDERS:,} orders; 2 connections",
        connections=2,
    )
)
