"""The support bot's context lookup in process: p50/p99 by each key at 10k and 1M.

    python -m bench.support_context_bench [--calls 2000]

Seeds the bench's two shops (``bench/scenarios_orders.py``: 10,000 customers and 20,000
orders; 1,000,000 and 2,000,000 — three million rows across shops in one database), then
times ``support.service.support_context`` as a request runs it — one shop-bound unit of
work on the service's role, row-level security applied, the read recorded and committed —
for a customer in the middle of each shop, by phone (a national spelling), by e-mail (in
another case) and by id. Beside each: the same unit of work running ``SELECT 1`` (the floor
any lookup pays: a pooled connection, the shop setting, a round trip, the commit). The goal
is flat: the 1M p99 level with the 10k p99, both under 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text

from bench.database import BenchContext, bench_database
from bench.run import service_environment
from bench.scenarios_orders import SIZES, shop_of_size
from bloomer_ai.auth.principal import Principal, PrincipalKind
from bloomer_ai.config import load_settings
from bloomer_ai.db.engine import DatabaseTarget, create_engine
from bloomer_ai.db.session import make_session_factory, unit_of_work
from bloomer_ai.support import service

TARGET_P99_MS = 5.0


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def timed(action: Callable[[], Awaitable[Any]], calls: int) -> list[float]:
    for _ in range(min(200, calls // 10)):  # warm the pool, the plans and the caches
        await action()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        await action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def measure(calls: int) -> int:
    with bench_database() as database:
        os.environ.pop("REDIS_URL", None)
        os.environ.update(service_environment(database))
        settings = load_settings()
        seeding = BenchContext(database, settings)
        started = time.perf_counter()
        shops = {size: await shop_of_size(seeding, size) for size in SIZES}
        await seeding.aclose()
        print(f"seeded {len(SIZES)} shops in {time.perf_counter() - started:.0f} s\n")

        engine = create_engine(DatabaseTarget(database.app_url, embedded=False), settings.db)
        factory = make_session_factory(engine)
        rows: list[tuple[str, str, list[float]]] = []
        try:
            for size, shop in shops.items():
                shop_id = uuid.UUID(shop["shop_id"])
                principal = Principal(
                    kind=PrincipalKind.API_KEY,
                    shop_id=shop_id,
                    scopes=frozenset({"support:context"}),
                    api_key_id=uuid.uuid4(),
                )
                queries = {
                    "phone": service.ContextQuery(phone=shop["phone"]),
                    "email": service.ContextQuery(email=shop["email"]),
                    "id": service.ContextQuery(customer_id=shop["customer_id"]),
                }

                async def floor(shop_id: uuid.UUID = shop_id) -> None:
                    async with unit_of_work(factory, shop_id=shop_id) as session:
                        await session.execute(text("SELECT 1"))

                rows.append((size, "SELECT 1 (floor)", await timed(floor, calls)))
                for key, query in queries.items():

                    async def lookup(
                        shop_id: uuid.UUID = shop_id,
                        query: service.ContextQuery = query,
                        principal: Principal = principal,
                    ) -> None:
                        async with unit_of_work(factory, shop_id=shop_id) as session:
                            facts = await service.support_context(session, principal, query)
                            assert facts.customer_id is not None, "the bench customer is found"

                    rows.append((size, f"by {key}", await timed(lookup, calls)))
        finally:
            await engine.dispose()

    print(f"{'support context, in process':<34} {'p50 ms':>8} {'p99 ms':>8}")
    by_name: dict[tuple[str, str], list[float]] = {}
    for size, name, samples in rows:
        by_name[(size, name)] = samples
        p50 = statistics.median(samples)
        print(f"{size + ' ' + name:<34} {p50:>8.2f} {percentile(samples, 0.99):>8.2f}")
    status = 0
    print()
    for key in ("phone", "email", "id"):
        small = percentile(by_name[("10k", f"by {key}")], 0.99)
        big = percentile(by_name[("1m", f"by {key}")], 0.99)
        verdict = "within" if big <= TARGET_P99_MS else "OVER"
        print(
            f"by {key}: p99 1M/10k {big / small:.2f}x; 1M p99 {big:.2f} ms, "
            f"{verdict} the {TARGET_P99_MS:.0f} ms goal"
        )
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.support_context_bench")
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args(argv)
    return asyncio.run(measure(args.calls))


if __name__ == "__main__":
    sys.exit(main())
