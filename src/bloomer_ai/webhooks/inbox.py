"""The webhook inbox: a delivery is acted on once; a repeat is answered as the first was.

Call ``claim_delivery`` in the same transaction as the delivery's effects, after the
signature was verified, and ``record_answer`` with what was answered: a rolled-back effect
leaves no record (so the provider's retry is processed), and a committed one leaves the
record, the raw body and the answer together. A repeat (the provider retrying, or a
replay) finds the record and gets the stored answer with no second effect. Concurrent
copies of one delivery wait on the unique index for the first to end: then they are
repeats (it committed) or the first (it rolled back).

Raw bodies and answers are kept for a retention period, then purged (``purge_bodies``);
the record stays, so a later repeat is still recognised.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.models import WebhookDelivery

MAX_DELIVERY_ID = 255


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    status: int
    body: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class Claim:
    """The first sighting (``record_id`` set: act, then ``record_answer``), or a repeat
    (``answer``: what was answered the first time; None once purged)."""

    record_id: uuid.UUID | None
    answer: StoredAnswer | None = None
    visible: bool = True
    """False: the id is taken by a delivery this transaction's shop cannot see (another
    shop's)."""

    @property
    def first(self) -> bool:
        return self.record_id is not None


def delivery_key(source: str, provider_delivery_id: str) -> str:
    """The stored delivery id: the provider's id in the namespace of where it came from (an
    integration, or the platform), so one shop's sender cannot occupy ids another shop's
    deliveries will use. Over the column's length: a hash of it."""
    key = f"{source}:{provider_delivery_id}"
    if len(key) <= MAX_DELIVERY_ID:
        return key
    return f"{source}:sha256:{hashlib.sha256(provider_delivery_id.encode()).hexdigest()}"[
        :MAX_DELIVERY_ID
    ]


async def claim_delivery(
    session: AsyncSession,
    *,
    provider: str,
    delivery_id: str,
    shop_id: uuid.UUID | None,
    kind: str | None = None,
    integration_id: uuid.UUID | None = None,
    content_type: str | None = None,
    raw_body: bytes | None = None,
) -> Claim:
    statement = (
        insert(WebhookDelivery)
        .values(
            provider=provider,
            delivery_id=delivery_id[:MAX_DELIVERY_ID],
            shop_id=shop_id,
            kind=kind,
            integration_id=integration_id,
            content_type=content_type[:100] if content_type else None,
            raw_body=raw_body,
        )
        .on_conflict_do_nothing(index_elements=["provider", "delivery_id"])
        .returning(WebhookDelivery.id)
    )
    inserted = await session.scalar(statement)
    if inserted is not None:
        return Claim(record_id=inserted)
    row = (
        await session.execute(
            select(
                WebhookDelivery.response_status,
                WebhookDelivery.response_body,
                WebhookDelivery.response_content_type,
            ).where(
                WebhookDelivery.provider == provider,
                WebhookDelivery.delivery_id == delivery_id[:MAX_DELIVERY_ID],
            )
        )
    ).one_or_none()
    if row is None:
        return Claim(record_id=None, visible=False)
    status, body, content_type_stored = row
    if status is None or body is None:
        return Claim(record_id=None)
    return Claim(
        record_id=None,
        answer=StoredAnswer(status, body, content_type_stored or "application/octet-stream"),
    )


async def record_answer(session: AsyncSession, record_id: uuid.UUID, answer: StoredAnswer) -> None:
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == record_id)
        .values(
            response_status=answer.status,
            response_body=answer.body,
            response_content_type=answer.content_type[:100],
        )
    )


async def record_delivery(
    session: AsyncSession, *, provider: str, delivery_id: str, shop_id: uuid.UUID | None
) -> bool:
    """True for the first sighting of ``(provider, delivery_id)``, False for a replay."""
    claim = await claim_delivery(
        session, provider=provider, delivery_id=delivery_id, shop_id=shop_id
    )
    return claim.first


_PURGE_BODIES = text("SELECT purge_webhook_bodies(:before)")


async def purge_bodies(session: AsyncSession, *, before: datetime) -> int:
    """Drop the raw bodies and answers of deliveries received before ``before``, in every
    shop (a SECURITY DEFINER function: the one cross-shop path); the records stay."""
    return int(await session.scalar(_PURGE_BODIES, {"before": before}) or 0)
