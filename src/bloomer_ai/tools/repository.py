"""All SQL of the shop tools: the product catalogue and the record of tool calls."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, or_, select

from bloomer_ai.db.pagination import fetch_page
from bloomer_ai.db.repository import ShopScopedRepository
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.models import Product, ToolCall


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class ProductRepository(ShopScopedRepository):
    async def get(self, product_id: str | uuid.UUID) -> Product | None:
        return await self._get(Product, product_id)

    async def insert(self, **values: Any) -> Product:
        product = Product(shop_id=self.shop_id, **values)
        self.session.add(product)
        await self.session.flush()
        await self.session.refresh(product)
        return product

    async def save(self, product: Product) -> Product:
        await self.session.flush()
        await self.session.refresh(product)
        return product

    async def delete(self, product: Product) -> None:
        await self.session.delete(product)
        await self.session.flush()

    async def page(
        self, params: PageParams, *, available: bool | None = None
    ) -> tuple[Sequence[Product], str | None]:
        statement: Select[tuple[Product]] = select(Product)
        if available is not None:
            statement = statement.where(Product.available == available)
        return await fetch_page(self.session, statement, Product.id, params)

    async def search(
        self, words: Sequence[str], *, available_only: bool, limit: int
    ) -> Sequence[Product]:
        """Products whose name or description holds every word (any case), by name."""
        statement = select(Product)
        for word in words:
            pattern = _like_pattern(word)
            statement = statement.where(
                or_(Product.name.ilike(pattern), Product.description.ilike(pattern))
            )
        if available_only:
            statement = statement.where(Product.available.is_(True))
        statement = statement.order_by(func.lower(Product.name), Product.id).limit(limit)
        return (await self.session.scalars(statement)).all()

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Product]:
        if not ids:
            return {}
        rows = await self.session.scalars(select(Product).where(Product.id.in_(ids)))
        return {row.id: row for row in rows}

    async def by_lower_names(self, names: Sequence[str]) -> dict[str, Product]:
        """Products by exact name, any case (the first by id when two share a name)."""
        if not names:
            return {}
        rows = await self.session.scalars(
            select(Product)
            .where(func.lower(Product.name).in_([name.lower() for name in names]))
            .order_by(Product.id)
        )
        found: dict[str, Product] = {}
        for row in rows:
            found.setdefault(row.name.lower(), row)
        return found


class ToolCallRepository(ShopScopedRepository):
    async def insert(self, **values: Any) -> ToolCall:
        call = ToolCall(shop_id=self.shop_id, **values)
        self.session.add(call)
        await self.session.flush()
        return call
