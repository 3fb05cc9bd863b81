"""Lilli agent conversations and their messages (shop-owned)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from bloomer_ai.models.base import Base, IdMixin, ShopScoped, TimestampMixin

MESSAGE_ROLES = ("user", "assistant", "system", "tool")
MESSAGE_STATUSES = ("complete", "incomplete")
"""``incomplete``: a streamed reply cut off (client gone or provider failure part-way)."""


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


class AgentConversation(IdMixin, TimestampMixin, ShopScoped, Base):
    __tablename__ = "agent_conversations"
    __table_args__ = (
        # Target of the messages' composite foreign key; also serves "newest first" lists
        # (ids are time-sortable, scanned backwards).
        UniqueConstraint("shop_id", "id", name="uq_agent_conversations_shop_id_id"),
        # Erasing a customer erases their conversations: they hold personal data.
        ForeignKeyConstraint(
            ["shop_id", "customer_id"],
            ["customers.shop_id", "customers.id"],
            name="fk_agent_conversations_shop_customer",
            ondelete="CASCADE",
        ),
        # Conversations of one customer, newest first.
        Index("ix_agent_conversations_shop_customer_id", "shop_id", "customer_id", "id"),
    )

    user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    """The signed-in user who started it; None when an API key (Lilli) did."""
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    title: Mapped[str | None] = mapped_column(String(200))
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AgentMessage(IdMixin, ShopScoped, Base):
    __tablename__ = "agent_messages"
    __table_args__ = (
        ForeignKeyConstraint(
            ["shop_id", "conversation_id"],
            ["agent_conversations.shop_id", "agent_conversations.id"],
            name="fk_agent_messages_shop_conversation",
            ondelete="CASCADE",
        ),
        CheckConstraint(_in("role", MESSAGE_ROLES), name="role_known"),
        CheckConstraint(_in("status", MESSAGE_STATUSES), name="status_known"),
        # A conversation's history newest first (Index Scan Backward + LIMIT); also the
        # index the composite foreign key's cascade uses.
        Index("ix_agent_messages_shop_conversation_id", "shop_id", "conversation_id", "id"),
    )

    # The mixin's own one-column index would duplicate the leading column of the history
    # index on the biggest table of the feature: declared here without it.
    shop_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("shops.id", ondelete="CASCADE"), nullable=False
    )
    conversation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="complete")
    # "metadata" is reserved on declarative classes; the column keeps the plain name.
    message_metadata: Mapped[dict[str, Any] | None] = mapped_column(
        "metadata", JSONB(none_as_null=True)
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


__all__ = ["MESSAGE_ROLES", "MESSAGE_STATUSES", "AgentConversation", "AgentMessage"]
