"""The support bot's context (`GET /api/ai/support/context`) at two sizes, by each key.

The same two shops as the order lookups (``bench/scenarios_orders.py``: 10,000 customers
and 20,000 orders, 1,000,000 and 2,000,000, in one database), so the customer looked up
sits in the middle of either. Each lookup — by phone (a national spelling), by e-mail (in
another letter case) and by customer id — finds the customer, their three newest orders
and open-order count, and records the read; each 1M row is compared with its 10k row and,
like every row, with the bare app. ``bench/support_context_bench.py`` times the same
lookups in process (p50/p99 without HTTP).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bench.database import BenchContext
from bench.scenarios import Prepared, Scenario, register
from bench.scenarios_orders import SIZES, shop_of_size

LOOKUPS = {
    "phone": ("phone={phone}", "by phone (06…)"),
    "email": ("email={email}", "by e-mail, any case"),
    "id": ("customerId={customer_id}", "by customer id"),
}


def _context(size: str, query: str) -> Any:
    async def setup(ctx: BenchContext) -> Prepared:
        shop = await shop_of_size(ctx, size)
        values = {name: quote(str(value)) for name, value in shop.items()}
        return Prepared(
            path="/api/ai/support/context?" + query.format(**values),
            headers={"Authorization": f"Bearer {shop['secret']}"},
        )

    return setup


for key, (query, what) in LOOKUPS.items():
    for size, (customers, orders) in SIZES.items():
        register(
            Scenario(
                f"support_context_by_{key}_{size}",
                "GET",
                "/api/ai/support/context",
                setup=_context(size, query),
                description=(
                    f"the support bot's context {what}; shop of {customers:,} customers, "
                    f"{orders:,} orders"
                ),
                compare_to=None if size == "10k" else f"support_context_by_{key}_10k",
            )
        )
