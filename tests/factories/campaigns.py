"""Order histories and consent for the campaign tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.models import Customer, Shop
from factories.core import create_order

CONSENT_RECORDED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def consent(*, email: bool | None = None, sms: bool | None = None) -> dict[str, Any]:
    """Customer overrides for a consent per channel (None: never asked)."""
    return {
        "email_consent": email,
        "email_consent_at": CONSENT_RECORDED_AT if email is not None else None,
        "sms_consent": sms,
        "sms_consent_at": CONSENT_RECORDED_AT if sms is not None else None,
    }


async def create_orders_at(
    db: AsyncSession,
    shop: Shop,
    times: Iterable[datetime],
    *,
    customer: Customer | None = None,
    status: str = "delivered",
) -> None:
    """One order placed at each of ``times`` (by ``customer``, or by nobody known)."""
    for placed in times:
        await create_order(
            db,
            shop,
            customer_id=customer.id if customer is not None else None,
            status=status,
            placed_at=placed,
            created_at=placed,
        )
