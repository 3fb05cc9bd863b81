"""Receiving a verified inbound delivery: the inbox, then its kind's handler, once."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.integrations.errors import DeliveryIdTaken
from bloomer_ai.integrations.inbound.handlers import (
    InboundEvent,
    InboundHandlers,
    InboundReply,
    acknowledgement,
)
from bloomer_ai.webhooks import inbox

log = structlog.get_logger("bloomer_ai.integrations.inbound")


@dataclass(frozen=True, slots=True)
class VerifiedDelivery:
    """An inbound delivery whose signature verified, with its shop found and bound."""

    event: InboundEvent
    source: str
    """Where it came through: the integration's id, or ``platform``."""


async def receive_delivery(
    session: AsyncSession, delivery: VerifiedDelivery, handlers: InboundHandlers
) -> InboundReply:
    """Record the delivery in the inbox and hand it to its kind's handler, once: a repeat
    gets the first answer and nothing else happens."""
    event = delivery.event
    claim = await inbox.claim_delivery(
        session,
        provider=event.provider,
        delivery_id=inbox.delivery_key(delivery.source, event.delivery_id),
        shop_id=event.shop_id,
        kind=event.kind,
        integration_id=event.integration_id,
        content_type=event.content_type,
        raw_body=event.body,
    )
    if not claim.visible:
        raise DeliveryIdTaken()
    if claim.record_id is None:
        log.info("webhook_repeat", provider=event.provider, kind=event.kind)
        if claim.answer is None:
            return acknowledgement(event.provider)
        answer = claim.answer
        return InboundReply(answer.status, answer.body, answer.content_type)
    reply = await handlers.handler_for(event.kind, event.provider)(session, event)
    await inbox.record_answer(
        session, claim.record_id, inbox.StoredAnswer(reply.status, reply.body, reply.media_type)
    )
    return reply
