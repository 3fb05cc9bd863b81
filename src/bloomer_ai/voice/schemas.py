"""The voice agent at the edge: calls, their events, orders taken by phone."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from bloomer_ai.kit.schemas import InputSchema, IsoDate, Schema
from bloomer_ai.orders.schemas import OrderItemRead, OrderRead

CallStatus = Literal["ringing", "in_progress", "forwarding", "ended", "failed"]
CallDirection = Literal["inbound", "outbound"]


class VoiceCallRead(Schema):
    id: uuid.UUID
    shop_id: uuid.UUID
    provider: str = Field(description="`twilio`, `vapi` or `lilli`.")
    provider_call_id: str = Field(description="The provider's id of the call.")
    direction: str
    phone_number: str | None = Field(
        description="The caller (inbound) or the number called (outbound), E.164."
    )
    from_number: str | None = Field(description="E.164.")
    to_number: str | None = Field(description="E.164.")
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    duration_seconds: int | None
    ended_reason: str | None
    summary: str | None
    customer_id: uuid.UUID | None = Field(description="The customer matched by phone.")
    order_id: uuid.UUID | None = Field(description="The order taken on the call.")
    created_at: datetime
    updated_at: datetime


class VoiceCallEventRead(Schema):
    """The seed's ``VoiceCallEvent``: the delivery, with its call's caller and direction."""

    id: uuid.UUID
    shop_id: uuid.UUID
    call_id: uuid.UUID
    provider: str
    type: str
    phone_number: str | None = Field(description="The call's caller (inbound), E.164.")
    direction: str
    payload: dict[str, Any] = Field(
        description="What the delivery said, reduced: no phone number, e-mail or words spoken."
    )
    created_at: datetime


class VoiceCallDetail(VoiceCallRead):
    transcript: str | None = Field(
        description="Kept VOICE_TRANSCRIPT_RETENTION_DAYS; null before it arrives or once purged."
    )
    transcript_purged_at: datetime | None
    events: list[VoiceCallEventRead] = Field(description="Oldest first (at most 500).")


class VoiceOrderItem(InputSchema):
    product_type: str = Field(min_length=1, max_length=64, examples=["bouquet"])
    name: str = Field(min_length=1, max_length=200)
    quantity: int = Field(strict=True, default=1, ge=1, le=1000)
    unit_price: int = Field(strict=True, default=0, ge=0, le=10**9, description="Minor units.")
    sku: str | None = Field(default=None, max_length=64)


class VoiceOrderCustomer(InputSchema):
    phone: str = Field(
        min_length=3, max_length=40, description="Any common spelling (the shop's region)."
    )
    name: str | None = Field(default=None, max_length=200)


class VoiceOrderDelivery(InputSchema):
    zone: str | None = Field(default=None, max_length=64)
    date: IsoDate | None = None
    time: str | None = Field(
        default=None, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM."
    )


class VoiceOrderCreate(InputSchema):
    call_id: uuid.UUID | None = Field(
        default=None, description="The call it was taken on (our id); the call is linked."
    )
    items: list[VoiceOrderItem] = Field(min_length=1, max_length=100)
    customer: VoiceOrderCustomer
    delivery: VoiceOrderDelivery | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class VoiceOrderRead(OrderRead):
    items: list[OrderItemRead]
    call_id: uuid.UUID | None
    needs_confirmation: bool
