"""Bodies of the order routes (camelCase JSON at the edge; money in minor units)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import Field

from bloomer_ai.kit.schemas import Schema

OrderSource = Literal["web", "phone", "voice", "chat", "walk_in", "marketplace", "api"]
OrderStatus = Literal[
    "pending",
    "confirmed",
    "in_progress",
    "ready",
    "out_for_delivery",
    "delivered",
    "picked_up",
    "cancelled",
]


class OrderItemRead(Schema):
    id: uuid.UUID
    product_type: str
    sku: str | None
    name: str
    quantity: int
    unit_price: int = Field(validation_alias="unit_price_minor", description="Minor units.")


class OrderRead(Schema):
    id: uuid.UUID
    number: str
    status: str
    source: str
    customer_id: uuid.UUID | None
    delivery_zone: str | None
    delivery_date: date | None
    delivery_time: str | None
    total: int = Field(validation_alias="total_minor", description="Minor units.")
    currency: str
    tags: list[str]
    placed_at: datetime
    created_at: datetime
    updated_at: datetime


class OrderDetail(OrderRead):
    items: list[OrderItemRead]
