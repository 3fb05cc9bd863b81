"""Routing scenario: POST /api/ai/routing/evaluate against 100 realistic rules."""

from __future__ import annotations

from typing import Any

from bench.database import BENCH_SECRET, BenchContext
from bench.scenarios import Prepared, Scenario, register


def _workload() -> tuple[list[Any], dict[str, object]]:
    """The 100 rules and the order both rows use (a fixed seed: the same in every run)."""
    import random

    from bench.jsonlogic_bench import ZONES, make_order, make_rules

    rng = random.Random(7)
    rules = make_rules(rng, 100, ZONES)
    order = make_order(rng, ZONES)
    fields = ("items", "deliveryZone", "deliveryDate", "deliveryTime", "total", "tags")
    return rules, {name: order[name] for name in fields}


async def _bare_order(ctx: BenchContext) -> Prepared:
    return Prepared(body=_workload()[1])


async def _shop_with_rules(ctx: BenchContext) -> Prepared:
    from bloomer_ai.auth.service import create_api_key
    from bloomer_ai.db.tenancy import bind_shop
    from bloomer_ai.routing.schemas import RuleCreate
    from bloomer_ai.routing.service import create_rule
    from bloomer_ai.shops.service import create_shop

    rules, body = _workload()

    async def make(session):  # type: ignore[no-untyped-def]
        shop = await create_shop(session, name="Bench florist (routing)")
        bind_shop(session.sync_session, shop.id)
        for index, rule in enumerate(rules):
            await create_rule(
                session,
                RuleCreate(
                    name=f"rule {index}",
                    priority=rule.priority,
                    conditions=rule.conditions,
                    action=dict(rule.action),
                ),
            )
        issued = await create_api_key(
            session,
            name="bench",
            scopes=["routing:evaluate"],
            pepper=BENCH_SECRET,
        )
        return issued.secret

    secret = await ctx.run(make)
    return Prepared(headers={"Authorization": f"Bearer {secret}"}, body=body)


register(
    Scenario(
        "bare_post",
        "POST",
        "/orders",
        body={},
        setup=_bare_order,
        description="bare FastAPI POST validating the same order body into a model",
        app="bare",
    )
)
register(
    Scenario(
        "routing_evaluate",
        "POST",
        "/api/ai/routing/evaluate",
        body={},
        setup=_shop_with_rules,
        description="evaluate an order-like body against 100 rules (compiled, cached)",
        compare_to="bare_post",
    )
)


async def _rule_by_id(ctx: BenchContext) -> Prepared:
    from bloomer_ai.auth.service import create_api_key
    from bloomer_ai.db.tenancy import bind_shop
    from bloomer_ai.routing.schemas import RuleCreate
    from bloomer_ai.routing.service import create_rule
    from bloomer_ai.shops.service import create_shop

    rules, _ = _workload()

    async def make(session):  # type: ignore[no-untyped-def]
        shop = await create_shop(session, name="Bench florist (rule read)")
        bind_shop(session.sync_session, shop.id)
        rule = await create_rule(
            session,
            RuleCreate(
                name="big orders",
                priority=rules[0].priority,
                conditions=rules[0].conditions,
                action=dict(rules[0].action),
            ),
        )
        issued = await create_api_key(
            session, name="bench", scopes=["routing:read"], pepper=BENCH_SECRET
        )
        return rule.id, issued.secret

    rule_id, secret = await ctx.run(make)
    return Prepared(
        path=f"/api/ai/routing/rules/{rule_id}", headers={"Authorization": f"Bearer {secret}"}
    )


register(
    Scenario(
        "rule_read",
        "GET",
        "/api/ai/routing/rules/{id}",
        setup=_rule_by_id,
        description="a real shop-scoped read route: one routing rule by id with an API key "
        "(auth, rate limit, the shop's transaction, access log)",
    )
)
