"""Factories for outbound webhooks. Each flushes and returns the row."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.kit.encryption import Keyring
from bloomer_ai.kit.ids import new_id
from bloomer_ai.models import Shop, WebhookEndpoint, WebhookEvent
from bloomer_ai.outbound_webhooks.delivery.secrets import seal_secrets
from bloomer_ai.outbound_webhooks.delivery.signing import new_secret


async def create_endpoint_row(db: AsyncSession, shop: Shop, **overrides: Any) -> WebhookEndpoint:
    """An endpoint with a new secret sealed under the development keyring (the tests'
    settings hold no DATA_ENCRYPTION_KEY)."""
    endpoint_id = new_id()
    key_id, ciphertext = seal_secrets(
        shop.id, endpoint_id, Keyring.development(), current=new_secret(), previous=None
    )
    values: dict[str, Any] = {
        "id": endpoint_id,
        "shop_id": shop.id,
        "url": "https://hooks.example.com/bloomer",
        "event_types": [],
        "secrets_key_id": key_id,
        "secrets_ciphertext": ciphertext,
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
