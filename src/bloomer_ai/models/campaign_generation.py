"""AI campaign copy generation: one row per request, moved along by the worker, Lilli's
callback, a cancel or the deadline (docs/campaigns.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bloomer_ai.models.base import Base, IdMixin, ShopScoped, TimestampMixin

GENERATION_STATUSES = (
    "pending",
    "processing",
    "awaiting_callback",
    "completed",
    "failed",
    "cancelled",
)
FINISHED_STATUSES = ("completed", "failed", "cancelled")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


class CampaignGenerationRequest(IdMixin, TimestampMixin, ShopScoped, Base):
    """A request for campaign copy and its result."""

    __tablename__ = "campaign_generation_requests"
    __table_args__ = (
        CheckConstraint(_in("status", GENERATION_STATUSES), name="status_known"),
        CheckConstraint("status <> 'completed' OR output IS NOT NULL", name="completed_has_output"),
        # Lists are newest first (ids are time-sortable); each filter with the order.
        Index("ix_campaign_generation_requests_shop_id_id", "shop_id", "id"),
        Index("ix_campaign_generation_requests_shop_status_id", "shop_id", "status", "id"),
        Index("ix_campaign_generation_requests_shop_campaign_id", "shop_id", "campaign_id", "id"),
        # The expiry job's look-up, across shops: only requests that wait for Lilli.
        Index(
            "ix_campaign_generation_requests_callback_deadline",
            "callback_deadline_at",
            postgresql_where=text("status = 'awaiting_callback'"),
        ),
        # The lost-request look-up, across shops: only requests not finished yet.
        Index(
            "ix_campaign_generation_requests_unfinished",
            "updated_at",
            postgresql_where=text("status IN ('pending', 'processing')"),
        ),
    )

    campaign_id: Mapped[str | None] = mapped_column(String(64))
    """The web app's campaign this copy is for (opaque)."""
    status: Mapped[str] = mapped_column(String(24), nullable=False, server_default="pending")
    input: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    """What was asked, as sent (camelCase)."""
    brief: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    """What was asked, resolved when it was asked (camelCase): the occasion and its date,
    the language, the channel, the number of variants…: what every run and the callback
    work from."""
    output: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    """The result (camelCase): the variants, and what they were written for."""
    provider: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    """Generation runs started (a run killed mid-way counts)."""
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(300))
    completed_by: Mapped[str | None] = mapped_column(String(16))
    """``worker`` or ``callback``."""
    callback_id: Mapped[str | None] = mapped_column(String(300))
    """What makes a repeated callback a repeat: its ``webhook-id``, or its body's hash."""
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    awaiting_callback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    callback_deadline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
