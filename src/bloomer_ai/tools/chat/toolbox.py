"""The shop tools as a chat turn's tool box: the definitions the principal's scopes
allow, and each call run in a unit of work of its own (the turn's request transaction has
been committed before the provider is asked), recorded on the conversation and kept as a
message with role ``tool``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bloomer_ai.agent import service as agent
from bloomer_ai.agent.providers import ToolBox, ToolSpec
from bloomer_ai.auth.principal import Principal
from bloomer_ai.db.session import unit_of_work
from bloomer_ai.tools import service

MAX_TOOL_MESSAGE_CHARS = 8_000


class ShopToolBox:
    def __init__(
        self,
        factory: async_sessionmaker[AsyncSession],
        principal: Principal,
        conversation_id: uuid.UUID,
    ) -> None:
        self._factory = factory
        self._principal = principal
        self._conversation_id = conversation_id
        self._specs = [
            ToolSpec(d.name, d.description, d.parameters)
            for d in service.tool_definitions(principal.scopes)
        ]

    def specs(self) -> Sequence[ToolSpec]:
        return self._specs

    async def call(self, name: str, arguments: str, call_id: str) -> dict[str, Any]:
        async with unit_of_work(self._factory, shop_id=self._principal.shop_id) as session:
            outcome = await service.call_tool(
                session,
                self._principal,
                name,
                arguments,
                conversation_id=self._conversation_id,
                # The model's call id, per conversation: a repeated call is one order.
                idempotency_key=f"chat:{self._conversation_id}:{call_id}",
            )
            answer: dict[str, Any] = (
                dict(outcome.result)
                if outcome.ok and outcome.result is not None
                else {"error": outcome.error.model_dump() if outcome.error else {}}
            )
            await agent.record_tool_turn(
                session,
                conversation_id=self._conversation_id,
                content=json.dumps(answer, ensure_ascii=False)[:MAX_TOOL_MESSAGE_CHARS],
                metadata={"tool": outcome.name, "toolCallId": call_id[:200], "ok": outcome.ok},
            )
        return answer


def chat_tools(factory: async_sessionmaker[AsyncSession]) -> Any:
    """The runner's ``ChatTools``: a tool box for a principal's turn in a conversation
    (None when its scopes allow no tool)."""

    def build(principal: Principal, conversation_id: uuid.UUID) -> ToolBox | None:
        box = ShopToolBox(factory, principal, conversation_id)
        return box if box.specs() else None

    return build
