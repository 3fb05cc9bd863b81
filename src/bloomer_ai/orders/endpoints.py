"""Orders, read-only (the web app owns order editing): lists with filters, one with items.

``GET /api/orders`` is the web app's own path for the list (the same route).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from bloomer_ai.auth.dependencies import Access, AuthKind
from bloomer_ai.auth.principal import Principal
from bloomer_ai.auth.scopes import Scope
from bloomer_ai.customers import service as customers
from bloomer_ai.kit.pagination import Page
from bloomer_ai.kit.schemas import IsoDate, IsoDatetime
from bloomer_ai.orders import service
from bloomer_ai.orders.repository import OrderFilters
from bloomer_ai.orders.schemas import (
    OrderDetail,
    OrderItemRead,
    OrderRead,
    OrderSource,
    OrderStatus,
)
from bloomer_ai.ratelimit.policy import RouteGroup
from bloomer_ai.web.pagination import Paging
from bloomer_ai.web.routes import JsonRoute
from bloomer_ai.web.unit_of_work import ShopSession

router = APIRouter(prefix="/api/ai", tags=["orders"], route_class=JsonRoute)
web_app_router = APIRouter(prefix="/api", tags=["orders"], route_class=JsonRoute)

OrderReader = Annotated[
    Principal,
    Depends(Access(AuthKind.SESSION_OR_KEY, scopes=[Scope.ORDERS_READ], group=RouteGroup.READ)),
]


async def order_filters(
    session: ShopSession,
    source: Annotated[OrderSource | None, Query(description="Where the order came from.")] = None,
    status: Annotated[OrderStatus | None, Query()] = None,
    customer_id: Annotated[
        uuid.UUID | None, Query(alias="customerId", description="Only this customer's orders.")
    ] = None,
    number: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    delivery_from: Annotated[
        IsoDate | None, Query(alias="deliveryFrom", description="Delivery on or after this date.")
    ] = None,
    delivery_to: Annotated[
        IsoDate | None, Query(alias="deliveryTo", description="Delivery on or before this date.")
    ] = None,
    created_from: Annotated[
        IsoDatetime | None, Query(alias="createdFrom", description="Created at or after.")
    ] = None,
    created_to: Annotated[
        IsoDatetime | None, Query(alias="createdTo", description="Created before.")
    ] = None,
) -> OrderFilters:
    if customer_id is not None:
        await customers.existing_customer_id(session, str(customer_id))  # another shop's: 404
    return OrderFilters(
        source=source,
        status=status,
        customer_id=customer_id,
        number=number,
        delivery_from=delivery_from,
        delivery_to=delivery_to,
        created_from=created_from,
        created_to=created_to,
    )


Filters = Annotated[OrderFilters, Depends(order_filters)]


async def list_orders(
    principal: OrderReader, session: ShopSession, page: Paging, filters: Filters
) -> Page[OrderRead]:
    """The shop's orders, newest first, in cursor pages; filter by source, status,
    customer, number, delivery dates and creation time."""
    rows, next_cursor = await service.list_orders(session, page, filters)
    return Page[OrderRead](
        items=[OrderRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


for _router in (router, web_app_router):
    _router.add_api_route(
        "/orders",
        list_orders,
        methods=["GET"],
        response_model=Page[OrderRead],
        responses={404: {"description": "`customerId` names no customer of this shop."}},
        summary="The shop's orders, newest first, with filters",
    )


@router.get("/orders/{order_id}", response_model=OrderDetail, summary="An order with its items")
async def get_order(order_id: str, principal: OrderReader, session: ShopSession) -> OrderDetail:
    """An order of the shop with its items."""
    order, items = await service.get_order_with_items(session, order_id)
    return OrderDetail.model_validate(
        {
            **OrderRead.model_validate(order).model_dump(),
            "items": [OrderItemRead.model_validate(item) for item in items],
        }
    )
