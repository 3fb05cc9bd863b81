"""Cursor pages: ``{"items": [...], "nextCursor": …}`` and the cursor's encoding.

Rows have time-sortable ids, so the cursor is the last id of a page, base64url-encoded,
and the next page is ``id < cursor`` on an index: the cost does not grow with the page
number. The query side is ``db.pagination``; the request side ``web.pagination``.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{22}$"
"""What every cursor of this API looks like (16 bytes, base64url without padding)."""


class PageParams(BaseModel):
    limit: int = DEFAULT_PAGE_SIZE
    cursor: uuid.UUID | None = None


def encode_cursor(row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(row_id.bytes).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> uuid.UUID:
    """The id a cursor stands for; ValueError when it is not a cursor of this API."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not a cursor of this API") from None
    if len(raw) != 16:
        raise ValueError("not a cursor of this API")
    return uuid.UUID(bytes=raw)


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last."
    )
