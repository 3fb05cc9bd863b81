"""One page of rows, newest first, for a query over a table with time-sortable ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select, tuple_
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


async def fetch_page_in_order(
    session: AsyncSession, statement: Select[Any], order: Sequence[Any], params: PageParams
) -> tuple[Sequence[Any], str | None]:
    """Rows of one page in the order of ``order`` (ascending, its last column the id), and
    the cursor of the next page. The cursor is still the last row's id: the next page starts
    after that row's position, read in the same statement. A page whose cursor row was
    deleted meanwhile is empty (the client starts again)."""
    id_column = order[-1]
    if params.cursor is not None:
        position = select(*order).where(id_column == params.cursor).scalar_subquery()
        statement = statement.where(tuple_(*order) > position)
    statement = statement.order_by(*order).limit(params.limit + 1)
    rows = (await session.scalars(statement)).all()
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        return rows, encode_cursor(rows[-1].id)
    return rows, None
