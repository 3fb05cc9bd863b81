"""Small typed factories for the core tables. Each flushes and returns the row."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.models import Customer, Order, OrderItem, Shop, ShopMember, User

_counter = itertools.count(1)


def _n() -> int:
    return next(_counter)


async def create_shop(db: AsyncSession, **overrides: Any) -> Shop:
    values: dict[str, Any] = {
        "name": f"Shop {_n()}",
        "country": "NL",
        "timezone": "Europe/Amsterdam",
    }
    values.update(overrides)
    shop = Shop(**values)
    db.add(shop)
    await db.flush()
    return shop


async def create_user(db: AsyncSession, **overrides: Any) -> User:
    values: dict[str, Any] = {
        "email": f"user{_n()}-{uuid.uuid4().hex[:6]}@example.test",
        "name": "Test User",
    }
    values.update(overrides)
    user = User(**values)
    db.add(user)
    await db.flush()
    return user


async def add_member(db: AsyncSession, shop: Shop, user: User, role: str = "owner") -> ShopMember:
    member = ShopMember(shop_id=shop.id, user_id=user.id, role=role)
    db.add(member)
    await db.flush()
    return member


async def create_customer(db: AsyncSession, shop: Shop, **overrides: Any) -> Customer:
    n = _n()
    values: dict[str, Any] = {
        "shop_id": shop.id,
        "name": f"Customer {n}",
        "phone": f"+3161{n:07d}",
        "email": f"customer{n}@example.test",
    }
    values.update(overrides)
    customer = Customer(**values)
    db.add(customer)
    await db.flush()
    return customer


async def create_order(
    db: AsyncSession,
    shop: Shop,
    *,
    items: list[dict[str, Any]] | None = None,
    **overrides: Any,
) -> Order:
    values: dict[str, Any] = {
        "shop_id": shop.id,
        "number": f"{1000 + _n()}",
        "status": "confirmed",
        "source": "web",
        "delivery_zone": "centrum",
        "delivery_date": date(2026, 12, 1),
        "total_minor": 2950,
        "currency": "EUR",
        "placed_at": datetime.now(UTC),
    }
    values.update(overrides)
    order = Order(**values)
    db.add(order)
    await db.flush()
    for item in items or [{"product_type": "bouquet", "name": "Roses", "unit_price_minor": 2950}]:
        db.add(OrderItem(shop_id=shop.id, order_id=order.id, **item))
    await db.flush()
    return order
