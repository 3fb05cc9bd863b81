"""Outbound webhooks: a shop's endpoints, the events recorded for it, and every delivery
attempt (docs/webhooks.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from bloomer_ai.models.base import Base, IdMixin, ShopScoped, TimestampMixin

ATTEMPT_OUTCOMES = ("succeeded", "failed", "gone", "refused")


class WebhookEndpoint(IdMixin, TimestampMixin, ShopScoped, Base):
    """Where a shop wants its events, signed with its own ``whsec_…`` secret (sealed)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (UniqueConstraint("shop_id", "id", name="uq_webhook_endpoints_shop_id_id"),)

    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    description: Mapped[str | None] = mapped_column(String(200))
    event_types: Mapped[list[str]] = mapped_column(
        ARRAY(String(64)), nullable=False, server_default=text("'{}'")
    )
    """Empty: every event type."""
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    disabled_reason: Mapped[str | None] = mapped_column(String(32))
    """``gone`` when the endpoint answered 410; None while enabled or switched off by hand."""
    secrets_key_id: Mapped[str] = mapped_column(String(32), nullable=False)
    secrets_ciphertext: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    """The signing secret and, after a rotation, the previous one (which still signs, a
    second signature, until ``previous_secret_expires_at``): sealed with the keyring
    (``DATA_ENCRYPTION_KEY``) as integration secrets are, bound to this row."""
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookEvent(IdMixin, ShopScoped, Base):
    """Something that happened in a shop, recorded in the transaction of the change."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("shop_id", "id", name="uq_webhook_events_shop_id_id"),
        Index("ix_webhook_events_created_at", "created_at"),
    )

    type: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class WebhookAttempt(IdMixin, ShopScoped, Base):
    """One try at delivering an event to an endpoint (or to the web app's platform
    endpoint: ``endpoint_id`` NULL)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["shop_id", "event_id"],
            ["webhook_events.shop_id", "webhook_events.id"],
            name="fk_webhook_attempts_shop_event",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["shop_id", "endpoint_id"],
            ["webhook_endpoints.shop_id", "webhook_endpoints.id"],
            name="fk_webhook_attempts_shop_endpoint",
            ondelete="CASCADE",
        ),
        CheckConstraint(
            "outcome in ('succeeded', 'failed', 'gone', 'refused')", name="outcome_known"
        ),
        Index("ix_webhook_attempts_shop_event", "shop_id", "event_id"),
        Index("ix_webhook_attempts_shop_endpoint", "shop_id", "endpoint_id"),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    endpoint_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    """1 for the first try of a delivery job, then 2, 3 …"""
    attempted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(64))
    """A short, loggable reason (``timeout``, ``connect_failed``, ``redirect``, …)."""
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False)
