from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from bloomer_ai.kit.schemas import InputSchema, Schema


class ApiKeyCreate(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, max_length=32)
    expires_in_days: int | None = Field(strict=True, default=None, ge=1, le=3650)
    shop_id: str | None = Field(default=None, description="Defaults to the request's shop.")


class ApiKeyRead(Schema):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The whole key. Shown once: store it now.")


class MeUser(Schema):
    id: uuid.UUID
    email: str


class MeKey(Schema):
    id: uuid.UUID
    name: str


class MeShop(Schema):
    id: uuid.UUID
    name: str


class MeRead(Schema):
    kind: str
    user: MeUser | None
    key: MeKey | None
    shop: MeShop
    role: str | None
    scopes: list[str]
