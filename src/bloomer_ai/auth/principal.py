"""Who is calling, for which shop, with which rights."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property


class PrincipalKind(StrEnum):
    SESSION = "session"
    API_KEY = "api_key"
    WEBHOOK = "webhook"


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    STAFF = "staff"


MANAGERS = frozenset({Role.OWNER, Role.ADMIN})


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    shop_id: uuid.UUID
    scopes: frozenset[str]
    shop_name: str = ""
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    role: Role | None = None
    user_email: str | None = field(default=None, repr=False)
    api_key_name: str | None = None
    via_cookie: bool = False

    @cached_property
    def shop_id_text(self) -> str:
        return str(self.shop_id)

    @cached_property
    def rate_limit_identity(self) -> str:
        """What the rate limit counts: user+shop, the API key, or the shop for webhooks."""
        if self.kind is PrincipalKind.API_KEY:
            return f"key:{self.api_key_id}"
        if self.kind is PrincipalKind.SESSION:
            return f"user:{self.user_id}:shop:{self.shop_id}"
        return f"shop:{self.shop_id}"
