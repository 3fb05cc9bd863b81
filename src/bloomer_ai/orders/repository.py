"""All SQL of orders and their items."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, select

from bloomer_ai.db.pagination import fetch_page
from bloomer_ai.db.repository import ShopScopedRepository
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.models import Order, OrderItem


@dataclass(frozen=True, slots=True)
class OrderFilters:
    source: str | None = None
    status: str | None = None
    customer_id: uuid.UUID | None = None
    number: str | None = None
    delivery_from: date | None = None
    delivery_to: date | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


class OrderRepository(ShopScopedRepository):
    async def get(self, order_id: str | uuid.UUID) -> Order | None:
        return await self._get(Order, order_id)

    async def find_by_number(self, number: str) -> Order | None:
        return await self.session.scalar(select(Order).where(Order.number == number))

    async def items_of(self, order_id: uuid.UUID) -> Sequence[OrderItem]:
        return (
            await self.session.scalars(
                select(OrderItem).where(OrderItem.order_id == order_id).order_by(OrderItem.id)
            )
        ).all()

    async def page(
        self, params: PageParams, filters: OrderFilters
    ) -> tuple[Sequence[Order], str | None]:
        """Newest first (ids are time-sortable), each filter an index condition."""
        statement: Select[tuple[Order]] = select(Order)
        if filters.source is not None:
            statement = statement.where(Order.source == filters.source)
        if filters.status is not None:
            statement = statement.where(Order.status == filters.status)
        if filters.customer_id is not None:
            statement = statement.where(Order.customer_id == filters.customer_id)
        if filters.number is not None:
            statement = statement.where(Order.number == filters.number)
        if filters.delivery_from is not None:
            statement = statement.where(Order.delivery_date >= filters.delivery_from)
        if filters.delivery_to is not None:
            statement = statement.where(Order.delivery_date <= filters.delivery_to)
        if filters.created_from is not None:
            statement = statement.where(Order.created_at >= filters.created_from)
        if filters.created_to is not None:
            statement = statement.where(Order.created_at < filters.created_to)
        return await fetch_page(self.session, statement, Order.id, params)
