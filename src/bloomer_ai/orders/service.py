"""Orders of a shop: read here; created elsewhere (the web app) or by ``create_order``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.kit.ids import parse_id
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.models import Order, OrderItem
from bloomer_ai.orders.errors import OrderNotFound
from bloomer_ai.orders.repository import OrderFilters, OrderRepository


async def get_order(session: AsyncSession, order_id: str | uuid.UUID) -> Order:
    """An order of the session's shop; another shop's, or none: 404."""
    order = await OrderRepository(session).get(order_id)
    if order is None:
        raise OrderNotFound()
    return order


async def get_order_with_items(
    session: AsyncSession, order_id: str | uuid.UUID
) -> tuple[Order, Sequence[OrderItem]]:
    order = await get_order(session, order_id)
    return order, await OrderRepository(session).items_of(order.id)


async def find_order(session: AsyncSession, number_or_id: str) -> Order | None:
    """An order of this shop by its number, or by its id; None when there is none."""
    orders = OrderRepository(session)
    order = await orders.find_by_number(number_or_id)
    if order is None:
        parsed = parse_id(number_or_id)
        order = await orders.get(parsed) if parsed is not None else None
    return order


async def order_items(session: AsyncSession, order_id: uuid.UUID) -> Sequence[OrderItem]:
    return await OrderRepository(session).items_of(order_id)


async def list_orders(
    session: AsyncSession, params: PageParams, filters: OrderFilters
) -> tuple[Sequence[Order], str | None]:
    return await OrderRepository(session).page(params, filters)
