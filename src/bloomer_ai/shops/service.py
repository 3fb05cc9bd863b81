"""Shops and their members: created by operators (CLI) and the demo seed."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.kit.cache import TTLCache
from bloomer_ai.kit.validation import is_valid_country, is_valid_timezone
from bloomer_ai.models import Shop, ShopMember
from bloomer_ai.models.shop import SHOP_ROLES
from bloomer_ai.shops.errors import InvalidShop, ShopNotFound


async def create_shop(
    session: AsyncSession,
    *,
    name: str,
    country: str = "NL",
    timezone: str = "Europe/Amsterdam",
    currency: str = "EUR",
) -> Shop:
    name = name.strip()
    country = country.strip().upper()
    if not name or len(name) > 200:
        raise InvalidShop("The shop name must be 1 to 200 characters.")
    if not is_valid_country(country):
        raise InvalidShop(f"Unknown country code {country!r}; use ISO 3166 alpha-2, e.g. NL.")
    if not is_valid_timezone(timezone):
        raise InvalidShop(
            f"Unknown time zone {timezone!r}; use an IANA name, e.g. Europe/Amsterdam."
        )
    shop = Shop(name=name, country=country, timezone=timezone, currency=currency.upper())
    session.add(shop)
    await session.flush()
    return shop


async def get_shop(session: AsyncSession, shop_id: uuid.UUID) -> Shop:
    shop = await session.get(Shop, shop_id)
    if shop is None:
        raise ShopNotFound()
    return shop


async def add_member(
    session: AsyncSession, *, shop_id: uuid.UUID, user_id: uuid.UUID, role: str
) -> ShopMember:
    if role not in SHOP_ROLES:
        raise InvalidShop(f"Unknown role {role!r}; use one of {', '.join(SHOP_ROLES)}.")
    await get_shop(session, shop_id)
    existing = await session.scalar(
        select(ShopMember).where(ShopMember.shop_id == shop_id, ShopMember.user_id == user_id)
    )
    if existing is not None:
        existing.role = role
        return existing
    member = ShopMember(shop_id=shop_id, user_id=user_id, role=role)
    session.add(member)
    await session.flush()
    return member


async def get_shop_name(
    session_of: Callable[[], AsyncSession], shop_id: uuid.UUID, cache: TTLCache[uuid.UUID, str]
) -> str:
    """The shop's name from ``cache``; on a miss the session is opened and the row read."""
    name = cache.get(shop_id)
    if name is None:
        name = (await get_shop(session_of(), shop_id)).name
        cache.put(shop_id, name)
    return name
