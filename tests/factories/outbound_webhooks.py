"""Factories for outbound webhooks. Each flushes and returns the row."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.models import Shop, WebhookEndpoint, WebhookEvent
from bloomer_ai.outbound_webhooks.delivery.signing import new_secret


async def create_endpoint_row(db: AsyncSession, shop: Shop, **overrides: Any) -> WebhookEndpoint:
    values: dict[str, Any] = {
        "shop_id": shop.id,
        "url": "https://hooks.example.com/bloomer",
        "event_types": [],
        "secret": new_secret(),
    }
    values.update(overrides)
    endpoint = WebhookEndpoint(**values)
    db.add(endpoint)
    await db.flush()
    return endpoint


async def create_event_row(db: AsyncSession, shop: Shop, **overrides: Any) -> WebhookEvent:
    values: dict[str, Any] = {"shop_id": shop.id, "type": "order.created", "payload": {}}
    values.update(overrides)
    event = WebhookEvent(**values)
    db.add(event)
    await db.flush()
    return event
