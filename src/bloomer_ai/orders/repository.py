"""All SQL of orders and their items."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from typing import cast as typing_cast

from sqlalchemy import (
    BigInteger,
    Select,
    String,
    Table,
    cast,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert

from bloomer_ai.db.pagination import fetch_page
from bloomer_ai.db.repository import ShopScopedRepository
from bloomer_ai.kit.ids import new_id
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.models import Order, OrderItem, OrderNumberCounter
from bloomer_ai.models.order import NUMERIC_NUMBER, OPEN_ORDER_STATUSES


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


@dataclass(frozen=True, slots=True)
class RecentOrder:
    id: uuid.UUID
    number: str
    status: str
    delivery_date: date | None


@dataclass(frozen=True, slots=True)
class CustomerOrders:
    """A customer's newest orders and how many of all their orders are still open."""

    recent: list[RecentOrder]
    open_count: int


@dataclass(frozen=True, slots=True)
class NewOrderRow:
    """An order as ``insert_numbered`` writes it (its number is given out there)."""

    id: uuid.UUID
    customer_id: uuid.UUID | None
    source: str
    delivery_zone: str | None
    delivery_date: date | None
    delivery_time: str | None
    total_minor: int
    currency: str
    tags: list[str]
    needs_confirmation: bool
    routing_suggestion: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class NewItemRow:
    product_type: str
    sku: str | None
    name: str
    quantity: int
    unit_price_minor: int


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

    async def customer_orders(self, customer_id: uuid.UUID, limit: int) -> CustomerOrders:
        """The customer's ``limit`` newest orders and their open-order count, in one scan
        of the customer's index (the count is taken over every order before the limit)."""
        open_count = (
            func.count().filter(Order.status.in_(OPEN_ORDER_STATUSES)).over().label("open_count")
        )
        statement = (
            select(open_count, Order.id, Order.number, Order.status, Order.delivery_date)
            .where(Order.customer_id == customer_id)
            .order_by(Order.placed_at.desc())
            .limit(limit)
        )
        rows = (await self.session.execute(statement)).all()
        recent = [RecentOrder(r.id, r.number, r.status, r.delivery_date) for r in rows]
        return CustomerOrders(recent, int(rows[0].open_count) if rows else 0)

    async def item_lines_of(
        self, order_ids: Sequence[uuid.UUID]
    ) -> Sequence[tuple[uuid.UUID, str, int]]:
        """(order id, name, quantity) of the orders' items, in the order they were added."""
        if not order_ids:
            return []
        statement = (
            select(OrderItem.order_id, OrderItem.name, OrderItem.quantity)
            .where(OrderItem.order_id.in_(order_ids))
            .order_by(OrderItem.order_id, OrderItem.id)
        )
        return [(r.order_id, r.name, r.quantity) for r in await self.session.execute(statement)]

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

    async def insert_numbered(self, row: NewOrderRow) -> Order:
        """Insert the order with the shop's next number, in one statement: the shop's
        counter goes up by one, or jumps past the highest numeric number the shop has
        (orders made elsewhere count), and the order takes it. The counter's row lock
        orders concurrent calls of one shop; the unique (shop, number) index stays the
        last word."""
        highest = (
            select(func.max(cast(Order.number, BigInteger)))
            .where(Order.shop_id == self.shop_id, text(NUMERIC_NUMBER))
            .scalar_subquery()
        )
        counter_table = typing_cast(Table, OrderNumberCounter.__table__)
        upsert = pg_insert(counter_table).values(
            shop_id=self.shop_id, last_number=func.coalesce(highest, 0) + 1
        )
        counter = (
            upsert.on_conflict_do_update(
                index_elements=[counter_table.c.shop_id],
                set_={
                    "last_number": func.greatest(
                        counter_table.c.last_number + 1, func.coalesce(highest, 0) + 1
                    )
                },
            )
            .returning(counter_table.c.last_number)
            .cte("counter")
        )
        values: dict[str, Any] = {
            "id": literal(row.id, UUID(as_uuid=True)),
            "shop_id": literal(self.shop_id, UUID(as_uuid=True)),
            "number": cast(counter.c.last_number, String),
            "status": literal("pending"),
            "customer_id": literal(row.customer_id, UUID(as_uuid=True)),
            "source": literal(row.source),
            "delivery_zone": literal(row.delivery_zone, String),
            "delivery_date": literal(row.delivery_date, Order.delivery_date.type),
            "delivery_time": literal(row.delivery_time, String),
            "total_minor": literal(row.total_minor),
            "currency": literal(row.currency),
            "tags": literal(row.tags, Order.tags.type),
            "needs_confirmation": literal(row.needs_confirmation),
            "routing_suggestion": literal(row.routing_suggestion, JSONB),
        }
        orders_table = typing_cast(Table, Order.__table__)
        columns: list[Any] = list(values.values())
        statement = (
            insert(orders_table)
            .from_select(list(values), select(*columns).select_from(counter))
            .returning(orders_table.c.id)
        )
        await self.session.execute(statement)
        order = await self.get(row.id)
        assert order is not None
        return order

    async def insert_items(self, order_id: uuid.UUID, items: Sequence[NewItemRow]) -> None:
        if not items:
            return
        await self.session.execute(
            insert(typing_cast(Table, OrderItem.__table__)),
            [
                {
                    "id": new_id(),
                    "shop_id": self.shop_id,
                    "order_id": order_id,
                    "product_type": item.product_type,
                    "sku": item.sku,
                    "name": item.name,
                    "quantity": item.quantity,
                    "unit_price_minor": item.unit_price_minor,
                }
                for item in items
            ],
        )
