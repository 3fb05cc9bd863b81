"""All SQL of customers, and of what a customer's orders say about them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, select, text
from sqlalchemy.dialects.postgresql import insert

from bloomer_ai.db.pagination import fetch_page
from bloomer_ai.db.repository import ShopScopedRepository
from bloomer_ai.kit.ids import new_id
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.models import Customer, Order


@dataclass(frozen=True, slots=True)
class OrderSummary:
    id: uuid.UUID
    number: str
    status: str
    delivery_date: date | None
    placed_at: datetime


@dataclass(frozen=True, slots=True)
class CustomerHistory:
    order_count: int
    last_order: OrderSummary | None


class CustomerRepository(ShopScopedRepository):
    async def get(self, customer_id: str | uuid.UUID) -> Customer | None:
        return await self._get(Customer, customer_id)

    async def exists(self, customer_id: uuid.UUID) -> bool:
        found = await self.session.scalar(select(Customer.id).where(Customer.id == customer_id))
        return found is not None

    async def find_id_by_phone(self, phone: str) -> uuid.UUID | None:
        return await self.session.scalar(select(Customer.id).where(Customer.phone == phone))

    async def find_by_phone(self, phone: str) -> Customer | None:
        return await self.session.scalar(select(Customer).where(Customer.phone == phone))

    async def find_by_email(self, email: str) -> Customer | None:
        """The lower-case column with ``=`` (leakproof): an index condition under RLS.
        Several customers may share an address: the newest wins."""
        statement = (
            select(Customer)
            .where(Customer.email_lower == email.lower())
            .order_by(Customer.id.desc())
            .limit(1)
        )
        return await self.session.scalar(statement)

    async def insert_unless_phone_known(self, *, name: str, phone: str) -> uuid.UUID | None:
        """A new customer with this phone; None when the shop has one with it already (the
        unique index decides, so two calls at once cannot both insert)."""
        statement = (
            insert(Customer)
            .values(id=new_id(), shop_id=self.shop_id, name=name, phone=phone)
            .on_conflict_do_nothing(
                index_elements=[Customer.shop_id, Customer.phone],
                index_where=text("phone IS NOT NULL"),
            )
            .returning(Customer.id)
        )
        return await self.session.scalar(statement)

    async def search(
        self,
        params: PageParams,
        *,
        phone: str | None = None,
        email: str | None = None,
        name_prefix: str | None = None,
    ) -> tuple[Sequence[Customer], str | None]:
        statement: Select[tuple[Customer]] = select(Customer)
        if phone is not None:
            statement = statement.where(Customer.phone == phone)
        # The lower-case columns, compared with leakproof operators: an index serves them
        # under row-level security (see the model).
        if email is not None:
            statement = statement.where(Customer.email_lower == email.lower())
        if name_prefix is not None:
            statement = statement.where(func.starts_with(Customer.name_lower, name_prefix.lower()))
        return await fetch_page(self.session, statement, Customer.id, params)

    async def history(self, customer_id: uuid.UUID, before: datetime | None) -> CustomerHistory:
        """How many orders the customer placed (before ``before``) and the last of them,
        in one index scan: the count is taken over the whole match before the limit."""
        statement = select(
            func.count().over().label("order_count"),
            Order.id,
            Order.number,
            Order.status,
            Order.delivery_date,
            Order.placed_at,
        ).where(Order.customer_id == customer_id)
        if before is not None:
            statement = statement.where(Order.placed_at < before)
        row = (
            await self.session.execute(statement.order_by(Order.placed_at.desc()).limit(1))
        ).one_or_none()
        if row is None:
            return CustomerHistory(0, None)
        last = OrderSummary(row.id, row.number, row.status, row.delivery_date, row.placed_at)
        return CustomerHistory(int(row.order_count), last)
