"""The base of every repository of shop-owned rows.

A shop repository is built from a session bound to a shop (the request's or the job's)
and takes its shop from that binding, so it cannot be pointed at another shop; every
statement it writes names ``shop_id`` (the tenancy hook adds it to ORM reads, row-level
security refuses the rest), and its inserts set ``shop_id`` themselves.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.db.tenancy import TenancyViolation, bound_shop_id
from bloomer_ai.kit.ids import parse_id

M = TypeVar("M")


class ShopScopedRepository:
    def __init__(self, session: AsyncSession) -> None:
        shop_id = bound_shop_id(session.sync_session)
        if shop_id is None:
            raise TenancyViolation("a shop repository needs a session bound to a shop")
        self.session = session
        self.shop_id: uuid.UUID = shop_id

    async def _get(self, model: type[M], raw_id: str | uuid.UUID) -> M | None:
        """The shop's row of ``model`` with this id; None for an id that is not one of ours
        or a row of another shop (the same 404 to the caller)."""
        row_id = raw_id if isinstance(raw_id, uuid.UUID) else parse_id(raw_id)
        if row_id is None:
            return None
        column: Any = model.id  # type: ignore[attr-defined]
        statement = select(model).where(column == row_id)
        return await self.session.scalar(statement)
