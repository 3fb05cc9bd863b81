"""Shops: the request's own shop, and shops and members created by operators."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.kit.validation import is_valid_country, is_valid_timezone
from bloomer_ai.models import Shop, ShopMember
from bloomer_ai.models.shop import SHOP_ROLES
from bloomer_ai.shops import repository
from bloomer_ai.shops.errors import InvalidShop, ShopNotFound
from bloomer_ai.shops.repository import ShopProfile, ShopRepository


async def shop_profile(session: AsyncSession) -> ShopProfile:
    """The session's shop."""
    profile = await ShopRepository(session).profile()
    if profile is None:
        raise ShopNotFound()
    return profile


async def role_in_shop(session: AsyncSession, user_id: uuid.UUID) -> str | None:
    """The user's role in the session's shop; None when they are not a member."""
    return await ShopRepository(session).member_role(user_id)


async def shop_for_update(session: AsyncSession) -> Shop:
    shop = await ShopRepository(session).get_for_update()
    if shop is None:
        raise ShopNotFound()
    return shop


# --- operators ------------------------------------------------------------------------------


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
    return await repository.operator_insert_shop(
        session, name=name, country=country, timezone=timezone, currency=currency.upper()
    )


async def get_shop(session: AsyncSession, shop_id: uuid.UUID) -> Shop:
    shop = await repository.operator_get_shop(session, shop_id)
    if shop is None:
        raise ShopNotFound()
    return shop


async def find_shop_by_name(session: AsyncSession, name: str) -> Shop | None:
    return await repository.operator_find_shop_by_name(session, name)


async def list_shops(session: AsyncSession) -> Sequence[Shop]:
    return await repository.operator_list_shops(session)


async def add_member(
    session: AsyncSession, *, shop_id: uuid.UUID, user_id: uuid.UUID, role: str
) -> ShopMember:
    if role not in SHOP_ROLES:
        raise InvalidShop(f"Unknown role {role!r}; use one of {', '.join(SHOP_ROLES)}.")
    await get_shop(session, shop_id)
    existing = await repository.operator_find_member(session, shop_id, user_id)
    if existing is not None:
        existing.role = role
        await session.flush()
        return existing
    return await repository.operator_insert_member(
        session, shop_id=shop_id, user_id=user_id, role=role
    )


async def member_role(
    session: AsyncSession, *, shop_id: uuid.UUID, user_id: uuid.UUID
) -> str | None:
    """The user's role in the shop; None if not a member. An unknown shop: ShopNotFound."""
    await get_shop(session, shop_id)
    member = await repository.operator_find_member(session, shop_id, user_id)
    return member.role if member is not None else None
