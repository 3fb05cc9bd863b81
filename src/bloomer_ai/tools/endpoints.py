"""The shop's product catalogue (what the shop tools search and price orders from).

The tools themselves are served over MCP (``tools/mcp``) and called by the chat agent;
they have no REST routes of their own.

| route | session | API key scope | rate-limit group |
|---|---|---|---|
| GET /api/ai/products[/{id}] | any | shop:read | read |
| POST, PATCH, DELETE /api/ai/products[/{id}] | owner or admin | — (sessions only) | write |
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from bloomer_ai.auth.dependencies import Access, AuthKind, manager_access
from bloomer_ai.auth.principal import Principal
from bloomer_ai.auth.scopes import Scope
from bloomer_ai.kit.pagination import Page
from bloomer_ai.ratelimit.policy import RouteGroup
from bloomer_ai.tools import service
from bloomer_ai.tools.schemas import ProductCreate, ProductRead, ProductUpdate
from bloomer_ai.web.pagination import Paging
from bloomer_ai.web.routes import JsonRoute
from bloomer_ai.web.unit_of_work import ShopSession

router = APIRouter(prefix="/api/ai/products", tags=["tools"], route_class=JsonRoute)

ProductReader = Annotated[
    Principal,
    Depends(
        Access(
            AuthKind.SESSION_OR_KEY,
            scopes=[Scope.SHOP_READ],
            group=RouteGroup.READ,
            feature="tools",
        )
    ),
]
ProductManager = Annotated[Principal, Depends(manager_access(RouteGroup.WRITE, feature="tools"))]

PRODUCT_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such product in this shop"}
}


@router.get("", response_model=Page[ProductRead], summary="The shop's product catalogue")
async def list_products(
    principal: ProductReader,
    session: ShopSession,
    page: Paging,
    available: Annotated[
        bool | None, Query(description="Only available (true) or unavailable (false) ones.")
    ] = None,
) -> Page[ProductRead]:
    """The shop's products, newest first, in cursor pages: what the `search_products` tool
    searches and `place_order` prices items from."""
    rows, next_cursor = await service.list_products(session, page, available=available)
    return Page[ProductRead](
        items=[ProductRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.post(
    "",
    response_model=ProductRead,
    status_code=status.HTTP_201_CREATED,
    summary="Add a product to the catalogue (owners and admins)",
)
async def create_product(
    body: ProductCreate, principal: ProductManager, session: ShopSession
) -> ProductRead:
    """A product with its name, price in minor units (the shop's currency when none is
    given) and availability."""
    return ProductRead.model_validate(await service.create_product(session, body))


@router.get(
    "/{product_id}", response_model=ProductRead, responses=PRODUCT_ERRORS, summary="A product"
)
async def get_product(
    product_id: str, principal: ProductReader, session: ShopSession
) -> ProductRead:
    """One product of the shop's catalogue."""
    return ProductRead.model_validate(await service.get_product(session, product_id))


@router.patch(
    "/{product_id}",
    response_model=ProductRead,
    responses=PRODUCT_ERRORS,
    summary="Change a product (owners and admins)",
)
async def update_product(
    product_id: str, body: ProductUpdate, principal: ProductManager, session: ShopSession
) -> ProductRead:
    """Changes the fields sent; the others stay (`description` and `sku` may be null)."""
    return ProductRead.model_validate(await service.update_product(session, product_id, body))


@router.delete(
    "/{product_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=PRODUCT_ERRORS,
    summary="Remove a product from the catalogue (owners and admins)",
)
async def delete_product(product_id: str, principal: ProductManager, session: ShopSession) -> None:
    """Removes the product; orders that hold it keep their items as they were."""
    await service.delete_product(session, product_id)
