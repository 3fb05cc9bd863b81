from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
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
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from bloomer_ai.models.base import Base, IdMixin, ShopScoped, TimestampMixin

ORDER_STATUSES = (
    "pending",
    "confirmed",
    "in_progress",
    "ready",
    "out_for_delivery",
    "delivered",
    "picked_up",
    "cancelled",
)
OPEN_ORDER_STATUSES = ("pending", "confirmed", "in_progress", "ready", "out_for_delivery")
ORDER_SOURCES = ("web", "phone", "voice", "chat", "walk_in", "marketplace", "api")


# Orders that count for campaigns (segments, send time): every one not cancelled.
LIVE_ORDER = "status <> 'cancelled'"

# Order numbers this service can count on: digits only, at most 18 (a bigint).
NUMERIC_NUMBER = "number ~ '^[0-9]{1,18}$'"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


class Order(IdMixin, TimestampMixin, ShopScoped, Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "id", name="uq_orders_shop_id_id"),
        UniqueConstraint("shop_id", "number", name="uq_orders_shop_id_number"),
        ForeignKeyConstraint(
            ["shop_id", "customer_id"],
            ["customers.shop_id", "customers.id"],
            name="fk_orders_shop_customer",
            ondelete="RESTRICT",
        ),
        CheckConstraint(_in("status", ORDER_STATUSES), name="status_known"),
        CheckConstraint(_in("source", ORDER_SOURCES), name="source_known"),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
        # A customer's last order (history); every list filter an index condition, the
        # equality filters with the list's order (newest first by id) in the same index.
        Index("ix_orders_shop_customer_placed", "shop_id", "customer_id", text("placed_at DESC")),
        Index("ix_orders_shop_source_id", "shop_id", "source", "id"),
        Index("ix_orders_shop_status_id", "shop_id", "status", "id"),
        Index("ix_orders_shop_delivery_date", "shop_id", "delivery_date"),
        Index("ix_orders_shop_created_at", "shop_id", "created_at"),
        # Campaign suggestions read the orders that were not cancelled: per customer
        # (segments) and by when they were placed (send time, an occasion's weeks).
        Index(
            "ix_orders_shop_customer_live",
            "shop_id",
            "customer_id",
            "placed_at",
            postgresql_where=text(f"{LIVE_ORDER} AND customer_id IS NOT NULL"),
        ),
        Index(
            "ix_orders_shop_placed_live",
            "shop_id",
            "placed_at",
            postgresql_include=["customer_id"],
            postgresql_where=text(LIVE_ORDER),
        ),
        # The highest numeric order number of a shop, for the order-number counter.
        Index(
            "ix_orders_shop_numeric_number",
            "shop_id",
            text("(number::bigint)"),
            postgresql_where=text(NUMERIC_NUMBER),
        ),
    )

    number: Mapped[str] = mapped_column(String(40), nullable=False)
    """The order number people say on the phone or type in a chat."""
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="pending")
    source: Mapped[str] = mapped_column(String(20), nullable=False, server_default="web")
    delivery_zone: Mapped[str | None] = mapped_column(String(64))
    delivery_date: Mapped[date | None] = mapped_column(Date)
    delivery_time: Mapped[str | None] = mapped_column(String(5))
    total_minor: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    currency: Mapped[str] = mapped_column(String(3), nullable=False, server_default="EUR")
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(String(40)), nullable=False, server_default=text("'{}'")
    )
    placed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    needs_confirmation: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=text("false")
    )
    """Taken by a machine (voice, chat tools): a person of the shop confirms it."""
    routing_suggestion: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    """What the shop's routing rules suggested when the order was created here."""


class OrderNumberCounter(Base):
    """The last order number this service gave out per shop (``orders.create_order``)."""

    __tablename__ = "order_number_counters"

    shop_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    last_number: Mapped[int] = mapped_column(BigInteger, nullable=False)


class OrderItem(IdMixin, ShopScoped, Base):
    __tablename__ = "order_items"
    __table_args__ = (
        ForeignKeyConstraint(
            ["shop_id", "order_id"],
            ["orders.shop_id", "orders.id"],
            name="fk_order_items_shop_order",
            ondelete="CASCADE",
        ),
        Index("ix_order_items_order_id", "order_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_minor >= 0", name="unit_price_not_negative"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    product_type: Mapped[str] = mapped_column(String(40), nullable=False)
    sku: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    unit_price_minor: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
