"""All SQL of shops: the bound shop's own row, and shops and members for operators."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.db.repository import ShopScopedRepository
from bloomer_ai.models import Shop, ShopMember


@dataclass(frozen=True, slots=True)
class ShopProfile:
    """What requests read of their shop (never cached: a change applies at once)."""

    id: uuid.UUID
    name: str
    country: str
    timezone: str
    currency: str
    lilli_enabled: bool
    lilli_config: dict[str, Any]


_SHOPS = cast(Table, Shop.__table__)
# Read on most requests: SQLAlchemy Core on the table (no ORM entity, no loader
# criteria: row-level security and the shop's own id hold it), one statement built once.
_PROFILE = select(
    _SHOPS.c.id,
    _SHOPS.c.name,
    _SHOPS.c.country,
    _SHOPS.c.timezone,
    _SHOPS.c.currency,
    _SHOPS.c.lilli_enabled,
    _SHOPS.c.lilli_config,
).where(_SHOPS.c.id == bindparam("shop_id"))


class ShopRepository(ShopScopedRepository):
    """The row of the session's shop."""

    async def profile(self) -> ShopProfile | None:
        row = (await self.session.execute(_PROFILE, {"shop_id": self.shop_id})).one_or_none()
        return ShopProfile(*row) if row is not None else None

    async def get_for_update(self) -> Shop | None:
        # Read-merge-write (a config PATCH): the row lock keeps two concurrent writers from
        # overwriting each other.
        return await self.session.scalar(
            select(Shop)
            .where(Shop.id == self.shop_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def member_role(self, user_id: uuid.UUID) -> str | None:
        """The role of a member of the session's shop; None for anyone else."""
        return await self.session.scalar(
            select(ShopMember.role).where(
                ShopMember.shop_id == self.shop_id, ShopMember.user_id == user_id
            )
        )


# --- operators (CLI, demo seeder) ---------------------------------------------------------


async def operator_insert_shop(
    session: AsyncSession, *, name: str, country: str, timezone: str, currency: str
) -> Shop:
    shop = Shop(name=name, country=country, timezone=timezone, currency=currency)
    session.add(shop)
    await session.flush()
    return shop


async def operator_get_shop(session: AsyncSession, shop_id: uuid.UUID) -> Shop | None:
    return await session.get(Shop, shop_id)


async def operator_find_shop_by_name(session: AsyncSession, name: str) -> Shop | None:
    return await session.scalar(select(Shop).where(Shop.name == name).order_by(Shop.id).limit(1))


async def operator_list_shops(session: AsyncSession) -> Sequence[Shop]:
    return (await session.scalars(select(Shop).order_by(Shop.created_at, Shop.id))).all()


async def operator_find_member(
    session: AsyncSession, shop_id: uuid.UUID, user_id: uuid.UUID
) -> ShopMember | None:
    return await session.scalar(
        select(ShopMember).where(ShopMember.shop_id == shop_id, ShopMember.user_id == user_id)
    )


async def operator_insert_member(
    session: AsyncSession, *, shop_id: uuid.UUID, user_id: uuid.UUID, role: str
) -> ShopMember:
    member = ShopMember(shop_id=shop_id, user_id=user_id, role=role)
    session.add(member)
    await session.flush()
    return member
