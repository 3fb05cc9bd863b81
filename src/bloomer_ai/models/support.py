"""Support automation: events received from support platforms, the shop's automation
rules, the staff tasks they create, and the record of every customer-context read."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from bloomer_ai.models.base import Base, IdMixin, ShopScoped, TimestampMixin

SUPPORT_CHANNELS = ("chat", "email", "sms", "whatsapp", "voice", "social")
TASK_STATUSES = ("open", "in_progress", "done")
TASK_PRIORITIES = ("low", "normal", "high", "urgent")
ASSIGNEE_ROLES = ("owner", "admin", "staff")
CONTEXT_LOOKUPS = ("customerId", "phone", "email")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


class SupportEvent(IdMixin, ShopScoped, Base):
    """What a support platform told us happened (one per delivery), personal data reduced."""

    __tablename__ = "support_events"
    __table_args__ = (
        UniqueConstraint("shop_id", "id", name="uq_support_events_shop_id_id"),
        ForeignKeyConstraint(
            ["shop_id", "customer_id"],
            ["customers.shop_id", "customers.id"],
            name="fk_support_events_shop_customer",
            ondelete="RESTRICT",
        ),
        CheckConstraint(
            "channel IS NULL OR " + _in("channel", SUPPORT_CHANNELS), name="channel_known"
        ),
        # Lists are newest first (ids are time-sortable); each filter with the order.
        Index("ix_support_events_shop_id_id", "shop_id", "id"),
        Index("ix_support_events_shop_type_id", "shop_id", "type", "id"),
        Index("ix_support_events_shop_channel_id", "shop_id", "channel", "id"),
        Index("ix_support_events_shop_customer_id", "shop_id", "customer_id", "id"),
        Index(
            "ix_support_events_shop_conversation_id",
            "shop_id",
            "external_conversation_id",
            "id",
        ),
    )

    type: Mapped[str] = mapped_column(String(64), nullable=False)
    """Our type (``handoff.requested`` …), or the sender's own when we do not know it."""
    channel: Mapped[str | None] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    delivery_id: Mapped[str] = mapped_column(String(300), nullable=False)
    external_conversation_id: Mapped[str | None] = mapped_column(String(200))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    """The event's facts, personal data reduced (no phone, e-mail or name)."""
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class SupportRule(IdMixin, TimestampMixin, ShopScoped, Base):
    """A shop's automation rule: JsonLogic over the event, and what to do when it holds."""

    __tablename__ = "support_rules"
    __table_args__ = (Index("ix_support_rules_shop_order", "shop_id", "priority", "created_at"),)

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    priority: Mapped[int] = mapped_column(Integer, nullable=False, server_default="100")
    conditions: Mapped[Any] = mapped_column(JSONB, nullable=False)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    stop_on_match: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=text("false")
    )


class SupportTask(IdMixin, TimestampMixin, ShopScoped, Base):
    """Work for a person of the shop, created by an automation rule from an event."""

    __tablename__ = "support_tasks"
    __table_args__ = (
        ForeignKeyConstraint(
            ["shop_id", "event_id"],
            ["support_events.shop_id", "support_events.id"],
            name="fk_support_tasks_shop_event",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["shop_id", "customer_id"],
            ["customers.shop_id", "customers.id"],
            name="fk_support_tasks_shop_customer",
            ondelete="RESTRICT",
        ),
        CheckConstraint(_in("status", TASK_STATUSES), name="status_known"),
        CheckConstraint(_in("priority", TASK_PRIORITIES), name="priority_known"),
        CheckConstraint(
            "assignee_role IS NULL OR " + _in("assignee_role", ASSIGNEE_ROLES),
            name="assignee_role_known",
        ),
        Index("ix_support_tasks_shop_id_id", "shop_id", "id"),
        Index("ix_support_tasks_shop_status_id", "shop_id", "status", "id"),
        Index("ix_support_tasks_shop_event", "shop_id", "event_id"),
    )

    title: Mapped[str] = mapped_column(String(300), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="open")
    priority: Mapped[str] = mapped_column(String(16), nullable=False, server_default="normal")
    assignee_role: Mapped[str | None] = mapped_column(String(16))
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    rule_id: Mapped[str | None] = mapped_column(String(64))
    """The rule that created it: a stored rule's id, or ``default:<name>``."""


class SupportContextRead(IdMixin, ShopScoped, Base):
    """Who read a customer's support context, when, through which key (no personal data)."""

    __tablename__ = "support_context_reads"
    __table_args__ = (
        CheckConstraint(_in("lookup", CONTEXT_LOOKUPS), name="lookup_known"),
        Index("ix_support_context_reads_shop_id_id", "shop_id", "id"),
    )

    principal_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    lookup: Mapped[str] = mapped_column(String(16), nullable=False)
    """How the customer was asked for: ``customerId``, ``phone`` or ``email``."""
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    """The customer it matched (no foreign key: the record outlives an erased customer)."""
    read_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
