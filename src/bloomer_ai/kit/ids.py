"""Time-sortable ids (UUIDv7): new rows sort by creation time in indexes and cursors."""

from __future__ import annotations

import os
import uuid
from datetime import datetime

import uuid6

_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0x2 << 62


def new_id() -> uuid.UUID:
    return uuid.UUID(bytes=uuid6.uuid7().bytes)


def id_at(moment: datetime) -> uuid.UUID:
    """A UUIDv7 of ``moment`` (seeded or imported history), so the row sorts with the rows
    created then."""
    millis = int(moment.timestamp() * 1000) & 0xFFFF_FFFF_FFFF
    value = millis << 80 | int.from_bytes(os.urandom(10), "big")
    value = value & ~(0xF << 76) | _VERSION_7
    value = value & ~(0x3 << 62) | _VARIANT_RFC
    return uuid.UUID(int=value)


def parse_id(value: str) -> uuid.UUID | None:
    """An id from a URL or body; None when it is not one of ours (then: 404, not 500)."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None
