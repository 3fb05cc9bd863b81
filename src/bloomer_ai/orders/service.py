"""Orders of a shop: read here; created elsewhere (the web app) or by ``create_order``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.customers import service as customers
from bloomer_ai.errors import ValidationFailed
from bloomer_ai.kit.ids import new_id, parse_id
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.models import Order, OrderItem
from bloomer_ai.orders.errors import OrderNotFound
from bloomer_ai.orders.repository import (
    CustomerOrders,
    NewItemRow,
    NewOrderRow,
    OrderFilters,
    OrderRepository,
)
from bloomer_ai.orders.schemas import OrderDetail, OrderItemRead, OrderRead
from bloomer_ai.outbound_webhooks.schemas import EventType
from bloomer_ai.outbound_webhooks.service import record_event
from bloomer_ai.shops import service as shops


@dataclass(frozen=True, slots=True)
class DraftItem:
    product_type: str
    name: str
    quantity: int = 1
    unit_price: int = 0
    """Minor units."""
    sku: str | None = None


@dataclass(frozen=True, slots=True)
class OrderDraft:
    """An order as a machine took it (voice, the shop tools): what ``create_order`` needs."""

    items: Sequence[DraftItem]
    source: str
    customer_phone: str | None = None
    """Any common spelling; the shop's country is the default region."""
    customer_name: str | None = None
    delivery_zone: str | None = None
    delivery_date: date | None = None
    delivery_time: str | None = None
    """HH:MM."""
    currency: str | None = None
    """The shop's when None."""
    tags: Sequence[str] = field(default_factory=tuple)
    needs_confirmation: bool = True

    @property
    def total(self) -> int:
        return sum(item.unit_price * item.quantity for item in self.items)


class RouteSuggester(Protocol):
    """What the shop's routing rules suggest for a draft (``routing.service``
    provides it: routing sits above orders, so it is handed in)."""

    async def __call__(
        self, session: AsyncSession, draft: OrderDraft, customer_id: uuid.UUID | None
    ) -> dict[str, Any] | None: ...


async def create_order(
    session: AsyncSession, draft: OrderDraft, *, suggest_route: RouteSuggester
) -> tuple[Order, Sequence[OrderItem]]:
    """The one way this service creates an order: status ``pending``, flagged
    ``needs_confirmation`` (by default), the customer found or created by phone, the
    routing rules' suggestion stored with it, and the shop's next order number; an
    ``order.created`` event is recorded (and its deliveries deferred) in the same
    transaction."""
    if not draft.items:
        raise ValidationFailed(
            "An order needs at least one item.",
            details=[{"field": "items", "message": "at least one item", "type": "too_short"}],
        )
    shop = await shops.shop_profile(session)
    customer_id = None
    if draft.customer_phone:
        customer_id = await customers.find_or_create_by_phone(
            session, phone=draft.customer_phone, country=shop.country, name=draft.customer_name
        )
    suggestion = await suggest_route(session, draft, customer_id)
    repository = OrderRepository(session)
    order = await repository.insert_numbered(
        NewOrderRow(
            id=new_id(),
            customer_id=customer_id,
            source=draft.source,
            delivery_zone=draft.delivery_zone,
            delivery_date=draft.delivery_date,
            delivery_time=draft.delivery_time,
            total_minor=draft.total,
            currency=draft.currency or shop.currency,
            tags=list(draft.tags),
            needs_confirmation=draft.needs_confirmation,
            routing_suggestion=suggestion,
        )
    )
    await repository.insert_items(
        order.id,
        [
            NewItemRow(
                product_type=item.product_type,
                sku=item.sku,
                name=item.name,
                quantity=item.quantity,
                unit_price_minor=item.unit_price,
            )
            for item in draft.items
        ],
    )
    items = await repository.items_of(order.id)
    await record_event(session, order.shop_id, EventType.ORDER_CREATED, order_created(order, items))
    return order, items


def order_created(order: Order, items: Sequence[OrderItem]) -> dict[str, Any]:
    """``order.created``'s data: the order as ``GET /api/ai/orders/{id}`` shows it."""
    detail = OrderDetail.model_validate(
        {
            **OrderRead.model_validate(order).model_dump(),
            "items": [OrderItemRead.model_validate(item) for item in items],
        }
    )
    return {"order": detail.model_dump(mode="json", by_alias=True)}


async def get_order(session: AsyncSession, order_id: str | uuid.UUID) -> Order:
    """An order of the session's shop; another shop's, or none: 404."""
    order = await OrderRepository(session).get(order_id)
    if order is None:
        raise OrderNotFound()
    return order


async def get_order_by_number(session: AsyncSession, number: str) -> Order:
    """An order of the session's shop by its number; none: 404."""
    order = await OrderRepository(session).find_by_number(number)
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


@dataclass(frozen=True, slots=True)
class OrderGlance:
    """An order as a support bot may see it: no money, no address."""

    number: str
    status: str
    delivery_date: date | None
    items_summary: str


MAX_SUMMARY_LINES = 3


def _items_summary(lines: Sequence[tuple[str, int]]) -> str:
    shown = [f"{quantity}\u00d7 {name}" for name, quantity in lines[:MAX_SUMMARY_LINES]]
    more = len(lines) - MAX_SUMMARY_LINES
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


async def customer_glance(
    session: AsyncSession, customer_id: uuid.UUID, *, limit: int = 3
) -> tuple[list[OrderGlance], int]:
    """The customer's ``limit`` newest orders (with a short summary of their items) and
    how many of their orders are open: two statements."""
    repository = OrderRepository(session)
    orders: CustomerOrders = await repository.customer_orders(customer_id, limit)
    lines: dict[uuid.UUID, list[tuple[str, int]]] = {order.id: [] for order in orders.recent}
    for order_id, name, quantity in await repository.item_lines_of(list(lines)):
        lines[order_id].append((name, quantity))
    glances = [
        OrderGlance(
            order.number, order.status, order.delivery_date, _items_summary(lines[order.id])
        )
        for order in orders.recent
    ]
    return glances, orders.open_count
