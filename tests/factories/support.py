"""Factories for support events, rules and tasks. Each flushes and returns the row."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.models import Shop, SupportEvent, SupportRule, SupportTask


async def create_support_event(db: AsyncSession, shop: Shop, **overrides: Any) -> SupportEvent:
    values: dict[str, Any] = {
        "shop_id": shop.id,
        "type": "handoff.requested",
        "channel": "chat",
        "provider": "lilli",
        "delivery_id": f"msg_{uuid.uuid4().hex}",
        "external_conversation_id": f"conv_{uuid.uuid4().hex[:8]}",
        "payload": {"reason": "asked for a person"},
    }
    values.update(overrides)
    event = SupportEvent(**values)
    db.add(event)
    await db.flush()
    return event


async def create_support_rule(db: AsyncSession, shop: Shop, **overrides: Any) -> SupportRule:
    values: dict[str, Any] = {
        "shop_id": shop.id,
        "name": "Handoffs",
        "priority": 100,
        "conditions": {"==": [{"var": "type"}, "handoff.requested"]},
        "actions": [{"type": "create_task", "title": "Handoff ({channel})"}],
    }
    values.update(overrides)
    rule = SupportRule(**values)
    db.add(rule)
    await db.flush()
    return rule


async def create_support_task(
    db: AsyncSession, shop: Shop, *, event: SupportEvent | None = None, **overrides: Any
) -> SupportTask:
    values: dict[str, Any] = {
        "shop_id": shop.id,
        "title": "Handoff requested (chat)",
        "priority": "normal",
        "event_id": event.id if event is not None else None,
    }
    values.update(overrides)
    task = SupportTask(**values)
    db.add(task)
    await db.flush()
    return task
