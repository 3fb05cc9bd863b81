"""A request that inserts one row and defers a job in its own transaction (the
transactional outbox: ``ShopTask.defer`` on the request's connection), against the same
request without the defer. No worker runs meanwhile: the jobs wait in the queue.
The worker's own figures (throughput, a delivery drain) are ``bench/jobs_bench.py``."""

from __future__ import annotations

from bench.database import BenchContext
from bench.scenarios import Prepared, Scenario, register


async def _shop_path(ctx: BenchContext, suffix: str) -> Prepared:
    from bloomer_ai.shops.service import create_shop

    shop = await ctx.run(lambda session: create_shop(session, name=f"Bench outbox {suffix}"))
    return Prepared(path=f"/_bench/shops/{shop.id}/{suffix}")


async def _insert(ctx: BenchContext) -> Prepared:
    return await _shop_path(ctx, "insert")


async def _insert_and_defer(ctx: BenchContext) -> Prepared:
    return await _shop_path(ctx, "insert-and-defer")


register(
    Scenario(
        "insert",
        "POST",
        "/_bench/shops/{shop}/insert",
        setup=_insert,
        description="one insert (a webhook event) in the request's unit of work",
    )
)
register(
    Scenario(
        "insert_defer",
        "POST",
        "/_bench/shops/{shop}/insert-and-defer",
        setup=_insert_and_defer,
        description="the same insert and a job deferred in the same transaction",
        compare_to="insert",
    )
)
