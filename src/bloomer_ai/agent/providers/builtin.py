"""The offline provider: a shop assistant that answers from the shop tools, in the
customer's language (English, Dutch, German or French).

It reads what a message asks (``agent/assistant``: the language, the day asked about,
the intent), asks the shop tools — opening hours, delivery, the catalogue, an order — and
says what they answered; it keeps the order being discussed for follow-ups. Every fact in
a reply comes from a tool; what it cannot answer it hands to the shop's team (the
``request_handoff`` tool) and says so. No network, no model: ``make run`` chats out of the
box.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bloomer_ai.agent.assistant.language import configured_language
from bloomer_ai.agent.assistant.replies import Composer, Shop, Turn, conversation_language
from bloomer_ai.agent.config.schema import hours_zone
from bloomer_ai.agent.providers.base import ChatTurn, ShopContext

_CHUNK_WORDS = 3


def _utcnow() -> datetime:
    return datetime.now(UTC)


class BuiltinProvider:
    name = "builtin"

    def __init__(self, *, now: Callable[[], datetime] = _utcnow) -> None:
        self._now = now

    async def aclose(self) -> None:
        """Nothing to release; here so every provider closes the same way."""

    async def complete(self, history: Sequence[ChatTurn], shop: ShopContext) -> str:
        turns = [
            Turn(turn.role, turn.content) for turn in history if turn.role in ("user", "assistant")
        ]
        facts = self._shop(shop)
        language = conversation_language(turns, facts)
        return await Composer(facts, _tool_runner(shop), language).answer(turns)

    async def stream(self, history: Sequence[ChatTurn], shop: ShopContext) -> AsyncIterator[str]:
        reply = await self.complete(history, shop)
        for chunk in split_into_chunks(reply):
            yield chunk

    def _shop(self, shop: ShopContext) -> Shop:
        config = shop.config
        now = self._now()
        try:
            local = now.astimezone(hours_zone(config, shop.timezone))
        except ValueError:  # a shop row with an unknown zone: the tools say so too
            local = now
        handoff = config.handoff
        return Shop(
            name=shop.shop_name,
            language=configured_language(config.language),
            greeting=config.greeting,
            country=shop.country,
            today=local.date(),
            minute_of_day=local.hour * 60 + local.minute,
            handoff_keywords=tuple(handoff.keywords) if handoff.enabled else (),
            last_order_number=shop.last_order.order_number if shop.last_order else None,
        )


def _tool_runner(shop: ShopContext) -> Callable[[str, Mapping[str, object]], Any]:
    tools = shop.tools

    async def run(name: str, arguments: Mapping[str, object]) -> dict[str, Any] | None:
        if tools is None:
            return None
        reply = await tools.call(name, arguments)
        return reply.result if reply.ok else None

    return run


def split_into_chunks(reply: str, words_per_chunk: int = _CHUNK_WORDS) -> list[str]:
    """A few words per chunk, whitespace kept, so the chunks join back to the reply."""
    words = re.findall(r"\S+\s*", reply)
    return ["".join(words[i : i + words_per_chunk]) for i in range(0, len(words), words_per_chunk)]
