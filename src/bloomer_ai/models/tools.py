"""Shop tools: the small product catalogue the tools search, and the record of every call."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from bloomer_ai.models.base import Base, IdMixin, ShopScoped, TimestampMixin


class Product(IdMixin, TimestampMixin, ShopScoped, Base):
    """A product of the shop's catalogue: what ``search_products`` finds and ``place_order``
    prices items from."""

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("shop_id", "id", name="uq_products_shop_id_id"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        Index("ix_products_shop_id_id", "shop_id", "id"),
        Index("ix_products_shop_lower_name", "shop_id", text("lower(name)")),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(String(1000))
    product_type: Mapped[str] = mapped_column(String(64), nullable=False, server_default="product")
    """What routing rules read as an item's ``productType`` (``bouquet``, ``plant`` …)."""
    sku: Mapped[str | None] = mapped_column(String(64))
    price_minor: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    available: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))


class ToolCall(IdMixin, ShopScoped, Base):
    """One call of a shop tool: which tool, a hash of its arguments (never the arguments:
    they may hold a phone number), how it ended and how long it took; on the conversation
    or the voice call it belongs to."""

    __tablename__ = "tool_calls"
    __table_args__ = (
        ForeignKeyConstraint(
            ["shop_id", "conversation_id"],
            ["agent_conversations.shop_id", "agent_conversations.id"],
            name="fk_tool_calls_shop_conversation",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["shop_id", "voice_call_id"],
            ["voice_calls.shop_id", "voice_calls.id"],
            name="fk_tool_calls_shop_voice_call",
            ondelete="CASCADE",
        ),
        Index("ix_tool_calls_shop_id_id", "shop_id", "id"),
        Index("ix_tool_calls_shop_conversation", "shop_id", "conversation_id"),
        Index("ix_tool_calls_shop_voice_call", "shop_id", "voice_call_id"),
    )

    tool: Mapped[str] = mapped_column(String(64), nullable=False)
    arguments_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    """SHA-256 (hex) of the arguments in a canonical JSON form."""
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    error_code: Mapped[str | None] = mapped_column(String(64))
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    principal_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    voice_call_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    """The voice call it belongs to (erased with it, as with a conversation)."""
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
