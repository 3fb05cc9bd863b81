"""Shared reads by id: one place that turns an id from a request into a row or a 404."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.errors import NotFound
from bloomer_ai.kit.ids import parse_id

M = TypeVar("M")


async def get_or_404(
    session: AsyncSession, model: type[M], raw_id: str | uuid.UUID, error: type[NotFound]
) -> M:
    """The row of ``model`` with this id, through the (shop-scoped) session, else ``error``.

    An id that is not one of ours, and a row of another shop, are the same 404.
    """
    row_id = raw_id if isinstance(raw_id, uuid.UUID) else parse_id(raw_id)
    column: Any = model.id  # type: ignore[attr-defined]
    row = await session.scalar(select(model).where(column == row_id)) if row_id else None
    if row is None:
        raise error()
    return row
