"""Bodies of the customer routes (camelCase JSON at the edge)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from bloomer_ai.kit.schemas import Schema


class CustomerRead(Schema):
    id: uuid.UUID
    name: str
    phone: str | None
    email: str | None
    created_at: datetime


class LastOrder(Schema):
    id: uuid.UUID
    number: str
    status: str
    delivery_date: date | None
    placed_at: datetime


class CustomerDetail(CustomerRead):
    order_count: int
    last_order: LastOrder | None
