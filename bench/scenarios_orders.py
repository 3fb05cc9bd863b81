"""Order and customer lookups at two sizes: a shop with 10,000 customers and 20,000 orders,
and one with 1,000,000 customers and 2,000,000 orders, in the same database.

Each lookup the web app and the AI make — a customer by phone (in a national spelling,
normalised to E.164) and by e-mail (in another letter case), an order by number and by
id — runs once per size; each 1M row is compared with its 10k row (req/s and p99). With
every lookup an index scan the two should be level: the bigger shop's index is a level
or two deeper, nothing more (``tests/orders/test_lookup_plans.py`` checks the plans).

Seeding the big shop takes a minute or two per database (three million rows through
every index and foreign key); ``--scenarios`` without these rows skips it.
"""

from __future__ import annotations

from typing import Any

from bench.database import BENCH_SECRET, BenchContext
from bench.scenarios import Prepared, Scenario, register

SIZES = {"10k": (10_000, 20_000), "1m": (1_000_000, 2_000_000)}
EPOCHS = {"10k": 1_600_000_000_000, "1m": 1_700_000_000_000}  # the two shops' ids never meet

# Time-ordered ids (the UUIDv7 layout: a millisecond time, then the row's own number), as
# the service makes them: rows land at the right edge of every id index, as real ones do.
_ID = "(lpad(to_hex({epoch} + {n}), 12, '0') || '7000' || '8' || lpad(to_hex({n}), 15, '0'))::uuid"

SEED_CUSTOMERS = f"""
INSERT INTO customers (id, shop_id, name, phone, email)
SELECT {_ID.format(epoch=":epoch", n="g")}, :shop, 'Customer ' || md5(g::text),
       '+3161' || lpad(g::text, 7, '0'), 'customer' || g || '@example.test'
FROM generate_series(1, :customers) AS g
"""
SEED_ORDERS = f"""
INSERT INTO orders (id, shop_id, number, customer_id, status, source, delivery_date,
                    total_minor)
SELECT {_ID.format(epoch=":epoch", n="g")}, :shop, (1000 + g)::text,
       {_ID.format(epoch=":epoch", n="(1 + g % :customers)")},
       (ARRAY['pending','confirmed','delivered','cancelled'])[1 + g % 4],
       (ARRAY['web','phone','voice','chat'])[1 + g % 4],
       date '2026-01-01' + (g % 365), 2950
FROM generate_series(1, :orders) AS g
"""

_shops: dict[tuple[str, str], dict[str, Any]] = {}


async def shop_of_size(ctx: BenchContext, size: str) -> dict[str, Any]:
    """The shop of this size in the bench database (made once), its key and a target row
    in the middle of its data."""
    key = (str(ctx.database.url), size)
    if key in _shops:
        return _shops[key]
    from sqlalchemy import text

    from bloomer_ai.auth.service import create_api_key
    from bloomer_ai.db.tenancy import bind_shop
    from bloomer_ai.shops.service import create_shop

    customers, orders = SIZES[size]

    async def make(session):  # type: ignore[no-untyped-def]
        shop = await create_shop(session, name=f"Bench florist ({size} customers)", country="NL")
        await session.execute(text("SET LOCAL statement_timeout = 0"))
        values = {"shop": shop.id, "epoch": EPOCHS[size], "customers": customers}
        await session.execute(text(SEED_CUSTOMERS), values)
        await session.execute(text(SEED_ORDERS), {**values, "orders": orders})
        bind_shop(session.sync_session, shop.id)
        issued = await create_api_key(
            session,
            name="bench",
            scopes=["orders:read", "customers:read", "support:context"],
            pepper=BENCH_SECRET,
        )
        middle = orders // 2
        order_id = await session.scalar(
            text("SELECT id FROM orders WHERE shop_id = :shop AND number = :number"),
            {"shop": shop.id, "number": str(1000 + middle)},
        )
        customer_id = await session.scalar(
            text("SELECT id FROM customers WHERE shop_id = :shop AND phone = :phone"),
            {"shop": shop.id, "phone": f"+3161{customers // 2:07d}"},
        )
        return {
            "shop_id": str(shop.id),
            "secret": issued.secret,
            "customer_id": str(customer_id),
            "phone": f"061{customers // 2:07d}",  # +3161…, as people write it in NL
            "email": f"CUSTOMER{customers // 2}@Example.TEST",
            "number": str(1000 + middle),
            "order_id": str(order_id),
        }

    shop = await ctx.run(make)
    await ctx.run(lambda session: session.execute(text("ANALYZE customers")))
    await ctx.run(lambda session: session.execute(text("ANALYZE orders")))
    _shops[key] = shop
    return shop


def _lookup(size: str, path_of: Any) -> Any:
    async def setup(ctx: BenchContext) -> Prepared:
        shop = await shop_of_size(ctx, size)
        return Prepared(path=path_of(shop), headers={"Authorization": f"Bearer {shop['secret']}"})

    return setup


LOOKUPS = {
    "customer_by_phone": ("/api/ai/customers?phone={phone}", "a customer by phone (06…)"),
    "customer_by_email": ("/api/ai/customers?email={email}", "a customer by e-mail, any case"),
    "order_by_number": ("/api/ai/orders?number={number}", "an order by its number"),
    "order_by_id": ("/api/ai/orders/{order_id}", "an order by id, with its items"),
}

for name, (template, what) in LOOKUPS.items():
    for size, (customers, orders) in SIZES.items():
        register(
            Scenario(
                f"{name}_{size}",
                "GET",
                template,
                setup=_lookup(size, lambda shop, t=template: t.format(**shop)),
                description=f"{what}; shop of {customers:,} customers, {orders:,} orders",
                compare_to=None if size == "10k" else f"{name}_10k",
            )
        )
