"""Customers, read-only: found by phone, e-mail or name prefix; one with its orders' facts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from bloomer_ai.auth.dependencies import Access, AuthKind
from bloomer_ai.auth.principal import Principal
from bloomer_ai.auth.scopes import Scope
from bloomer_ai.customers import service
from bloomer_ai.customers.schemas import CustomerDetail, CustomerRead, LastOrder
from bloomer_ai.kit.pagination import Page
from bloomer_ai.ratelimit.policy import RouteGroup
from bloomer_ai.shops import service as shops
from bloomer_ai.web.pagination import Paging
from bloomer_ai.web.routes import JsonRoute
from bloomer_ai.web.unit_of_work import ShopSession

router = APIRouter(prefix="/api/ai", tags=["customers"], route_class=JsonRoute)

CustomerReader = Annotated[
    Principal,
    Depends(Access(AuthKind.SESSION_OR_KEY, scopes=[Scope.CUSTOMERS_READ], group=RouteGroup.READ)),
]


@router.get(
    "/customers",
    response_model=Page[CustomerRead],
    summary="Find the shop's customers by phone, e-mail or name prefix",
)
async def search_customers(
    principal: CustomerReader,
    session: ShopSession,
    page: Paging,
    phone: Annotated[
        str | None,
        Query(
            min_length=3,
            max_length=40,
            description="Any common spelling; numbers without a country code are read as "
            "the shop's country's.",
        ),
    ] = None,
    email: Annotated[
        str | None, Query(min_length=3, max_length=320, description="Any letter case.")
    ] = None,
    name: Annotated[
        str | None, Query(min_length=1, max_length=200, description="The start of the name.")
    ] = None,
) -> Page[CustomerRead]:
    """Finds the shop's customers, newest first, by `phone` (any common spelling, read with
    the shop's country as the default region), `email` (any letter case) and `name` (the
    start of the name, any letter case). Filters sent together must all match; with none,
    every customer is listed."""
    country = (await shops.shop_profile(session)).country if phone is not None else ""
    rows, next_cursor = await service.search_customers(
        session, page, country=country, phone=phone, email=email, name_prefix=name
    )
    return Page[CustomerRead](
        items=[CustomerRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.get(
    "/customers/{customer_id}",
    response_model=CustomerDetail,
    summary="A customer with their order count and last order",
)
async def get_customer(
    customer_id: str, principal: CustomerReader, session: ShopSession
) -> CustomerDetail:
    """A customer with their number of orders and their last order."""
    customer = await service.get_customer(session, customer_id)
    history = await service.customer_history(session, customer.id)
    last = history.last_order
    return CustomerDetail.model_validate(
        {
            **CustomerRead.model_validate(customer).model_dump(),
            "order_count": history.order_count,
            "last_order": LastOrder.model_validate(last) if last is not None else None,
        }
    )
