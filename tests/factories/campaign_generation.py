"""Factories for campaign generation requests. Each flushes and returns the row."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.models import CampaignGenerationRequest, Shop

BRIEF: dict[str, Any] = {
    "occasion": {"key": "christmas", "name": "Christmas", "date": "2026-12-25"},
    "channel": "email",
    "language": "en",
    "segment": None,
    "tone": None,
    "variants": 2,
}


OUTPUT: dict[str, Any] = {
    "variants": [
        {
            "subject": "Christmas at Shop",
            "preview": "Flowers from Shop.",
            "body": "Hello,\n\nFlowers from Shop.",
            "smsText": "Shop: Christmas. STOP",
        }
    ],
    "occasion": BRIEF["occasion"],
    "channel": "email",
    "language": "en",
    "provider": "builtin",
}


async def create_generation_row(
    db: AsyncSession, shop: Shop, **overrides: Any
) -> CampaignGenerationRequest:
    values: dict[str, Any] = {
        "shop_id": shop.id,
        "status": "pending",
        "input": {"channel": "email", "variants": 2},
        "brief": dict(BRIEF),
    }
    values.update(overrides)
    row = CampaignGenerationRequest(**values)
    db.add(row)
    await db.flush()
    return row
