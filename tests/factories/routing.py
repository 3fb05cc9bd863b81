"""Factories for routing rules. Each flushes and returns the row."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.models import OrderRoutingRule, Shop


async def create_rule_row(db: AsyncSession, shop: Shop, **overrides: Any) -> OrderRoutingRule:
    values: dict[str, Any] = {
        "shop_id": shop.id,
        "name": "Big orders",
        "priority": 100,
        "conditions": {">=": [{"var": "total"}, 10000]},
        "action": {"type": "assign", "target": {"kind": "team", "id": "workshop"}},
    }
    values.update(overrides)
    rule = OrderRoutingRule(**values)
    db.add(rule)
    await db.flush()
    return rule
