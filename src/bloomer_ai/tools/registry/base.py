"""What a shop tool is: a name, a description, an arguments model (its JSON Schema), the
scope it needs, and one async implementation run with a shop-scoped session."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.auth.principal import Principal
from bloomer_ai.auth.scopes import Scope


@dataclass(frozen=True, slots=True)
class ToolContext:
    """Everything a tool may use besides its arguments: the session (bound to the
    principal's shop), who calls, what the call belongs to, and the time."""

    session: AsyncSession
    principal: Principal
    now: datetime
    conversation_id: uuid.UUID | None = None
    voice_call_id: uuid.UUID | None = None
    idempotency_key: str | None = None

    @property
    def source(self) -> str:
        """The order source a call of this context stands for."""
        if self.voice_call_id is not None:
            return "voice"
        if self.conversation_id is not None:
            return "chat"
        return "api"


class ToolFailure(Exception):
    """A tool's own refusal (``not_a_delivery_day`` …): a structured tool error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


Implementation = Callable[[ToolContext, Any], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    arguments: type[BaseModel]
    scope: Scope
    run: Implementation

    def parameters(self) -> dict[str, Any]:
        """The arguments' JSON Schema (camelCase, as callers write them)."""
        return self.arguments.model_json_schema(by_alias=True)
