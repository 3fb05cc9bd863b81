"""The voice agent: one row per provider call, and every accepted delivery about it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from bloomer_ai.models.base import Base, IdMixin, ShopScoped, TimestampMixin

VOICE_PROVIDERS = ("twilio", "vapi", "lilli")
CALL_DIRECTIONS = ("inbound", "outbound")
CALL_STATUSES = ("ringing", "in_progress", "forwarding", "ended", "failed")
E164 = "^\\+[1-9][0-9]{6,14}$"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


class VoiceCall(IdMixin, TimestampMixin, ShopScoped, Base):
    """A phone call a voice provider handled for the shop (one per provider call id)."""

    __tablename__ = "voice_calls"
    __table_args__ = (
        UniqueConstraint("shop_id", "id", name="uq_voice_calls_shop_id_id"),
        UniqueConstraint(
            "shop_id", "provider", "provider_call_id", name="uq_voice_calls_shop_provider_call"
        ),
        ForeignKeyConstraint(
            ["shop_id", "customer_id"],
            ["customers.shop_id", "customers.id"],
            name="fk_voice_calls_shop_customer",
            ondelete="RESTRICT",
        ),
        ForeignKeyConstraint(
            ["shop_id", "order_id"],
            ["orders.shop_id", "orders.id"],
            name="fk_voice_calls_shop_order",
            ondelete="RESTRICT",
        ),
        CheckConstraint(_in("provider", VOICE_PROVIDERS), name="provider_known"),
        CheckConstraint(_in("direction", CALL_DIRECTIONS), name="direction_known"),
        CheckConstraint(_in("status", CALL_STATUSES), name="status_known"),
        CheckConstraint(f"from_number IS NULL OR from_number ~ '{E164}'", name="from_e164"),
        CheckConstraint(f"to_number IS NULL OR to_number ~ '{E164}'", name="to_e164"),
        CheckConstraint("duration_seconds IS NULL OR duration_seconds >= 0", name="duration"),
        # Lists are newest first (ids are time-sortable); each filter with the order.
        Index("ix_voice_calls_shop_id_id", "shop_id", "id"),
        Index("ix_voice_calls_shop_status_id", "shop_id", "status", "id"),
        Index("ix_voice_calls_shop_direction_id", "shop_id", "direction", "id"),
        Index("ix_voice_calls_shop_customer_id", "shop_id", "customer_id", "id"),
        # The transcript purge looks for old transcripts across shops.
        Index(
            "ix_voice_calls_transcript_kept",
            "created_at",
            postgresql_where="transcript IS NOT NULL",
        ),
    )

    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    provider_call_id: Mapped[str] = mapped_column(String(200), nullable=False)
    direction: Mapped[str] = mapped_column(String(16), nullable=False, server_default="inbound")
    from_number: Mapped[str | None] = mapped_column(String(16))
    to_number: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="ringing")
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    ended_reason: Mapped[str | None] = mapped_column(String(100))
    summary: Mapped[str | None] = mapped_column(Text)
    transcript: Mapped[str | None] = mapped_column(Text)
    """Kept VOICE_TRANSCRIPT_RETENTION_DAYS, then purged (``transcript_purged_at`` set)."""
    transcript_purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    order_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    """The order taken on the call (``POST /api/ai/voice/orders``, the ``place_order`` tool)."""


class VoiceCallEvent(IdMixin, ShopScoped, Base):
    """An accepted delivery about a call, its payload reduced (no phone, e-mail or words)."""

    __tablename__ = "voice_call_events"
    __table_args__ = (
        ForeignKeyConstraint(
            ["shop_id", "call_id"],
            ["voice_calls.shop_id", "voice_calls.id"],
            name="fk_voice_call_events_shop_call",
            ondelete="CASCADE",
        ),
        Index("ix_voice_call_events_shop_id_id", "shop_id", "id"),
        Index("ix_voice_call_events_shop_call_id", "shop_id", "call_id", "id"),
        Index("ix_voice_call_events_shop_type_id", "shop_id", "type", "id"),
    )

    call_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    delivery_id: Mapped[str] = mapped_column(String(300), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
