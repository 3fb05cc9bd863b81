"""The caller's shop."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from bloomer_ai.auth.dependencies import Access, AuthKind
from bloomer_ai.auth.principal import Principal
from bloomer_ai.auth.scopes import Scope
from bloomer_ai.ratelimit.policy import RouteGroup
from bloomer_ai.shops import service
from bloomer_ai.shops.schemas import ShopRead
from bloomer_ai.web.routes import JsonRoute
from bloomer_ai.web.unit_of_work import ShopSession

router = APIRouter(prefix="/api/ai", tags=["shops"], route_class=JsonRoute)

ShopReader = Annotated[
    Principal,
    Depends(Access(AuthKind.SESSION_OR_KEY, scopes=[Scope.SHOP_READ], group=RouteGroup.READ)),
]


@router.get("/shop", response_model=ShopRead, summary="The caller's shop")
async def read_shop(principal: ShopReader, session: ShopSession) -> ShopRead:
    """The shop the credentials belong to: its name, country, time zone and
    currency."""
    profile = await service.shop_profile(session)
    return ShopRead(
        id=profile.id,
        name=profile.name,
        country=profile.country,
        timezone=profile.timezone,
        currency=profile.currency,
    )
