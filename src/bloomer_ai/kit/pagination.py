"""Cursor pagination: ``?limit=1..100&cursor=…`` → ``{"items": [...], "nextCursor": …}``.

Rows have time-sortable ids, so the cursor is the last id of the page and the next page is
``id < cursor`` on an index: the cost does not grow with the page number.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.errors import ValidationFailed

T = TypeVar("T")


class PageParams(BaseModel):
    limit: int = 20
    cursor: uuid.UUID | None = None


def encode_cursor(row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(row_id.bytes).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return uuid.UUID(bytes=raw)
    except (ValueError, TypeError):
        raise ValidationFailed(
            "The cursor is not valid.",
            details=[
                {"field": "cursor", "message": "not a cursor from this API", "type": "cursor"}
            ],
        ) from None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page (1–100).")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=64, description="nextCursor of the previous page.")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=decode_cursor(cursor) if cursor else None)


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    items: list[T]
    next_cursor: str | None = Field(default=None)


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
