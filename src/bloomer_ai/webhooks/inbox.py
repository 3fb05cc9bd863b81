"""The webhook inbox: a delivery is acted on once; a replay is answered 200 and ignored.

Call ``record_delivery`` in the same transaction as the delivery's effects, after the
signature was verified: a rolled-back effect leaves no record, so a retry is processed.
"""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.models import WebhookDelivery


async def record_delivery(
    session: AsyncSession, *, provider: str, delivery_id: str, shop_id: uuid.UUID | None
) -> bool:
    """True for the first sighting of ``(provider, delivery_id)``, False for a replay."""
    statement = (
        insert(WebhookDelivery)
        .values(provider=provider, delivery_id=delivery_id[:255], shop_id=shop_id)
        .on_conflict_do_nothing(index_elements=["provider", "delivery_id"])
        .returning(WebhookDelivery.id)
    )
    inserted = await session.scalar(statement)
    return inserted is not None
