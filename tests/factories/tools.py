"""Factories for the shop tools: products of the catalogue. Each flushes and returns the row."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.models import Product, Shop


async def create_product(db: AsyncSession, shop: Shop, **overrides: Any) -> Product:
    values: dict[str, Any] = {
        "shop_id": shop.id,
        "name": "Red roses",
        "description": "Twelve red roses, hand-tied",
        "product_type": "bouquet",
        "price_minor": 2950,
        "currency": "EUR",
        "available": True,
    }
    values.update(overrides)
    product = Product(**values)
    db.add(product)
    await db.flush()
    return product
