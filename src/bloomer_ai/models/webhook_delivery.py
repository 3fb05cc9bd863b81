from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from bloomer_ai.models.base import Base, IdMixin


class WebhookDelivery(IdMixin, Base):
    """The webhook inbox: one row per (provider, delivery id); a replay finds it and stops.

    The raw body and the answer given are kept for WEBHOOK_RETENTION_DAYS (a repeat is
    answered as the first was), then purged; the row itself stays, so a late repeat is
    still recognised.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("provider", "delivery_id"),
        # The purge reads the rows whose bodies are still kept, oldest first.
        Index(
            "ix_webhook_deliveries_kept_received_at",
            "received_at",
            postgresql_where=text("purged_at IS NULL"),
        ),
    )

    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    delivery_id: Mapped[str] = mapped_column(String(255), nullable=False)
    shop_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("shops.id", ondelete="CASCADE"), index=True
    )
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    kind: Mapped[str | None] = mapped_column(String(16))
    """voice | support (None for rows older than the integrations)."""
    integration_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    """The integration it came through; None on the platform route without one. No foreign
    key: the record outlives a deleted integration (a late repeat is still a repeat)."""
    content_type: Mapped[str | None] = mapped_column(String(100))
    raw_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_content_type: Mapped[str | None] = mapped_column(String(100))
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
