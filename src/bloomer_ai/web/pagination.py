"""``?limit=&cursor=`` as one dependency, validated at the edge."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from bloomer_ai.errors import ValidationFailed
from bloomer_ai.kit.pagination import (
    CURSOR_PATTERN,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    PageParams,
    decode_cursor,
)


async def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Items per page (1–{MAX_PAGE_SIZE}).")
    ] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[
        str | None,
        Query(pattern=CURSOR_PATTERN, description="`nextCursor` of the previous page."),
    ] = None,
) -> PageParams:
    if cursor is None:
        return PageParams(limit=limit)
    try:
        return PageParams(limit=limit, cursor=decode_cursor(cursor))
    except ValueError:
        raise ValidationFailed(
            "The cursor is not valid.",
            details=[
                {"field": "query.cursor", "message": "not a cursor from this API", "type": "cursor"}
            ],
        ) from None


Paging = Annotated[PageParams, Depends(page_params)]
