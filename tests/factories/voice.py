"""Factories for voice calls and their events. Each flushes and returns the row."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.models import Shop, VoiceCall, VoiceCallEvent


async def create_voice_call(db: AsyncSession, shop: Shop, **overrides: Any) -> VoiceCall:
    values: dict[str, Any] = {
        "shop_id": shop.id,
        "provider": "vapi",
        "provider_call_id": f"call_{uuid.uuid4().hex}",
        "direction": "inbound",
        "from_number": "+31612345678",
        "to_number": "+31201234567",
        "status": "in_progress",
    }
    values.update(overrides)
    call = VoiceCall(**values)
    db.add(call)
    await db.flush()
    return call


async def create_voice_event(
    db: AsyncSession, shop: Shop, call: VoiceCall, **overrides: Any
) -> VoiceCallEvent:
    values: dict[str, Any] = {
        "shop_id": shop.id,
        "call_id": call.id,
        "type": "call.status",
        "provider": call.provider,
        "delivery_id": f"d_{uuid.uuid4().hex}",
        "payload": {"status": "in-progress"},
    }
    values.update(overrides)
    event = VoiceCallEvent(**values)
    db.add(event)
    await db.flush()
    return event
