"""Any OpenAI-compatible chat-completions server (OpenAI, vLLM, llama.cpp, Ollama …).

The model gets a system message holding the shop's facts (name, greeting, hours, local
time, the customer's last order, the order the message names) and is told to use nothing
else, then the conversation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

import httpx

from bloomer_ai.agent.config.schema import format_weekly_hours
from bloomer_ai.agent.providers.base import (
    ChatTurn,
    HttpUpstream,
    ShopContext,
    non_empty_reply,
    shop_facts,
)

COMPLETIONS_PATH = "/chat/completions"


class OpenAIProvider:
    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        model: str,
        timeout_s: float,
        now: Callable[[], datetime],
        connect_retries: int = 2,
        retry_backoff_s: float = 0.1,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._model = model
        self._now = now
        # Local servers often need no key; then no Authorization header is sent at all.
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._upstream = HttpUpstream(
            provider=self.name,
            base_url=base_url,
            headers=headers,
            timeout_s=timeout_s,
            connect_retries=connect_retries,
            retry_backoff_s=retry_backoff_s,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._upstream.aclose()

    async def complete(self, history: Sequence[ChatTurn], shop: ShopContext) -> str:
        body = await self._request_body(history, shop, stream=False)
        answer = await self._upstream.post_json(COMPLETIONS_PATH, body)
        try:
            content = answer["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise self._upstream.malformed("a completion without choices[0].message") from None
        if not isinstance(content, str):
            raise self._upstream.malformed("a completion without text content")
        return non_empty_reply(content, provider=self.name)

    async def stream(self, history: Sequence[ChatTurn], shop: ShopContext) -> AsyncIterator[str]:
        body = await self._request_body(history, shop, stream=True)
        produced = finished = False
        async with self._upstream.open_stream(COMPLETIONS_PATH, body) as response:
            async for event in self._upstream.events(response):
                if event.data == "[DONE]":
                    finished = True
                    break
                chunk = self._upstream.decode_json(event.data, what="stream chunk")
                if not isinstance(chunk, dict) or chunk.get("error"):
                    raise self._upstream.malformed("an error in the stream")
                choices = chunk.get("choices")
                if not choices:  # e.g. a trailing usage-only chunk
                    continue
                if not isinstance(choices, list) or not isinstance(choices[0], dict):
                    raise self._upstream.malformed("a stream chunk with malformed choices")
                delta = choices[0].get("delta") or {}
                content = delta.get("content") if isinstance(delta, dict) else None
                if isinstance(content, str) and content:
                    produced = True
                    yield content
                # Some servers end with a finish_reason and close without [DONE].
                finished = finished or choices[0].get("finish_reason") is not None
        if not finished:
            raise self._upstream.malformed("a stream that ended before [DONE]")
        if not produced:
            raise self._upstream.malformed("an empty reply")

    async def _request_body(
        self, history: Sequence[ChatTurn], shop: ShopContext, *, stream: bool
    ) -> dict[str, Any]:
        facts = await shop_facts(history, shop, self._now())
        messages = [{"role": "system", "content": build_system_prompt(shop, facts)}]
        # A "tool" turn needs a tool_call_id the chat API would insist on; we keep no tool
        # calls, so such turns are left out rather than sent malformed.
        messages += [
            {"role": turn.role, "content": turn.content} for turn in history if turn.role != "tool"
        ]
        return {"model": self._model, "messages": messages, "stream": stream}


def build_system_prompt(shop: ShopContext, facts: dict[str, Any]) -> str:
    config = shop.config
    lines = [
        f'You are Lilli, the chat assistant of the shop "{shop.shop_name}" '
        f"(country: {shop.country}).",
        f"Reply in the language with the tag {config.language} unless the customer writes "
        "in another language; then reply in theirs. Keep replies short and friendly.",
        f'When the customer greets you, greet them with: "{config.greeting}"',
    ]
    weekly = format_weekly_hours(config)
    if weekly and config.business_hours is not None:
        zone = config.business_hours.timezone or shop.timezone
        lines.append(f"Opening hours ({zone} time): {weekly}.")
        if config.business_hours.closed_dates:
            dates = ", ".join(d.isoformat() for d in config.business_hours.closed_dates)
            lines.append(f"Closed on these dates: {dates}.")
    else:
        lines.append("The shop's opening hours are not known.")
    now_line = f"The shop's local date and time now: {facts['localTime']}."
    if facts["openNow"] is not None:
        now_line += " The shop is open now." if facts["openNow"] else " The shop is closed now."
    lines.append(now_line)
    if shop.customer_first_name:
        lines.append(f"The customer's first name is {shop.customer_first_name}.")
    if shop.last_order is not None:
        lines.append(f"The customer's most recent order: {_order_line(shop.last_order.to_json())}")
    mentioned = facts["mentionedOrder"]
    if mentioned is not None:
        if mentioned["found"]:
            lines.append(f"The order the customer asks about: {_order_line(mentioned['order'])}")
        else:
            lines.append(f"There is no order with the number {mentioned['number']} in this shop.")
    lines.append(
        "Only use the facts above. Never invent order details, prices, stock or opening "
        "hours. When you cannot help, say plainly that you will pass the question to the "
        "shop's team."
    )
    return "\n".join(lines)


def _order_line(order: dict[str, Any]) -> str:
    delivery = order["deliveryDate"] or "not set yet"
    return (
        f"number {order['orderNumber']}, status {order['status']}, delivery date {delivery}, "
        f"placed at {order['createdAt']}."
    )
