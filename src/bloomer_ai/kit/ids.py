"""Time-sortable ids (UUIDv7): new rows sort by creation time in indexes and cursors."""

from __future__ import annotations

import uuid

import uuid6


def new_id() -> uuid.UUID:
    return uuid.UUID(bytes=uuid6.uuid7().bytes)


def parse_id(value: str) -> uuid.UUID | None:
    """An id from a URL or body; None when it is not one of ours (then: 404, not 500)."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None
