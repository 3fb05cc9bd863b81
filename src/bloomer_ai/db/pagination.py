"""One page of rows, newest first, for a query over a table with time-sortable ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.kit.pagination import PageParams, encode_cursor


async def fetch_page(
    session: AsyncSession, statement: Select[Any], id_column: Any, params: PageParams
) -> tuple[Sequence[Any], str | None]:
    """Rows of one page, newest first, and the cursor of the next page (None at the end)."""
    if params.cursor is not None:
        statement = statement.where(id_column < params.cursor)
    statement = statement.order_by(id_column.desc()).limit(params.limit + 1)
    rows = (await session.scalars(statement)).all()
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        return rows, encode_cursor(rows[-1].id)
    return rows, None
