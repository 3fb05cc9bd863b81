"""Bodies of the shop routes."""

from __future__ import annotations

import uuid

from bloomer_ai.kit.schemas import Schema


class ShopRead(Schema):
    id: uuid.UUID
    name: str
    country: str
    timezone: str
    currency: str
