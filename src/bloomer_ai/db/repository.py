"""The base of every repository of shop-owned rows.

A shop repository is built from a session bound to a shop (the request's or the job's)
and takes its shop from that binding, so it cannot be pointed at another shop; every
statement it writes names ``shop_id`` (the tenancy hook adds it to ORM reads, row-level
security refuses the rest), and its inserts set ``shop_id`` themselves.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Hashable
from typing import Any, TypeVar, cast

from sqlalchemy import Select, bindparam, select
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
        statement = _by_id(cast(Hashable, model))
        row: M | None = await self.session.scalar(statement, {"row_id": row_id})
        return row


@functools.cache
def _by_id(model: Any) -> Select[Any]:
    """``select(model) where id = :row_id``, built once per model: building the expression
    costs more than running it from SQLAlchemy's compiled cache."""
    return select(model).where(model.id == bindparam("row_id"))
