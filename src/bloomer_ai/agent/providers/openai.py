"""Any OpenAI-compatible chat-completions server (OpenAI, vLLM, llama.cpp, Ollama …).

The model gets a system message holding the shop's facts (name, greeting, hours, local
time, the customer's last order, the order the message names) and is told to use nothing
else, then the conversation.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any, Unpack

from bloomer_ai.agent.config.schema import format_weekly_hours
from bloomer_ai.agent.providers.base import (
    BearerUpstreamProvider,
    ChatTurn,
    ShopContext,
    ToolRounds,
    UpstreamOptions,
    non_empty_reply,
    read_tool_calls,
    run_tool_round,
    shop_facts,
)

COMPLETIONS_PATH = "/chat/completions"


class OpenAIProvider(BearerUpstreamProvider):
    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        model: str,
        timeout_s: float,
        now: Callable[[], datetime],
        tool_rounds: int = 4,
        tool_budget_s: float = 30.0,
        **options: Unpack[UpstreamOptions],
    ) -> None:
        super().__init__(base_url=base_url, api_key=api_key, timeout_s=timeout_s, **options)
        self._model = model
        self._now = now
        self._tool_rounds = tool_rounds
        self._tool_budget_s = tool_budget_s

    async def complete(self, history: Sequence[ChatTurn], shop: ShopContext) -> str:
        messages = await self._messages(history, shop)
        rounds = ToolRounds(self._tool_rounds, self._tool_budget_s)
        while True:
            body = self._body(messages, shop, rounds, stream=False)
            answer = await self._upstream.post_json(COMPLETIONS_PATH, body)
            try:
                message = answer["choices"][0]["message"]
            except (KeyError, IndexError, TypeError):
                raise self._upstream.malformed("a completion without choices[0].message") from None
            if not isinstance(message, dict):
                raise self._upstream.malformed("a completion without choices[0].message")
            calls = message.get("tool_calls")
            if calls:
                await self._run_calls(calls, message.get("content"), messages, shop, rounds)
                continue
            content = message.get("content")
            if not isinstance(content, str):
                raise self._upstream.malformed("a completion without text content")
            return non_empty_reply(content, provider=self.name)

    async def stream(self, history: Sequence[ChatTurn], shop: ShopContext) -> AsyncIterator[str]:
        messages = await self._messages(history, shop)
        rounds = ToolRounds(self._tool_rounds, self._tool_budget_s)
        produced = False
        while True:
            body = self._body(messages, shop, rounds, stream=True)
            finished = False
            said: list[str] = []
            calls: dict[int, dict[str, Any]] = {}
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
                        said.append(content)
                        yield content
                    if isinstance(delta, dict):
                        self._gather_call_pieces(delta.get("tool_calls"), calls)
                    # Some servers end with a finish_reason and close without [DONE].
                    finished = finished or choices[0].get("finish_reason") is not None
            if not finished:
                raise self._upstream.malformed("a stream that ended before [DONE]")
            if calls:
                gathered = [
                    {
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["name"], "arguments": call["arguments"]},
                    }
                    for _index, call in sorted(calls.items())
                ]
                await self._run_calls(gathered, "".join(said) or None, messages, shop, rounds)
                continue
            if not produced:
                raise self._upstream.malformed("an empty reply")
            return

    def _gather_call_pieces(self, pieces: Any, calls: dict[int, dict[str, Any]]) -> None:
        """Tool calls arrive in pieces: an index, then its id, name and argument text."""
        if not pieces:
            return
        if not isinstance(pieces, list):
            raise self._upstream.malformed("a stream chunk with malformed tool calls")
        for piece in pieces:
            if not isinstance(piece, dict):
                raise self._upstream.malformed("a stream chunk with malformed tool calls")
            index = piece.get("index", 0)
            if not isinstance(index, int) or not 0 <= index < 64:
                raise self._upstream.malformed("a tool call with a bad index")
            call = calls.setdefault(index, {"id": None, "name": "", "arguments": ""})
            if isinstance(piece.get("id"), str):
                call["id"] = piece["id"]
            function = piece.get("function") or {}
            if isinstance(function, dict):
                if isinstance(function.get("name"), str):
                    call["name"] += function["name"]
                if isinstance(function.get("arguments"), str):
                    call["arguments"] += function["arguments"]

    async def _run_calls(
        self,
        calls: Any,
        content: Any,
        messages: list[dict[str, Any]],
        shop: ShopContext,
        rounds: ToolRounds,
    ) -> None:
        """Run a round of the model's tool calls and add them and their results to the
        conversation. A model that asks for tools it was not offered (or past the bound)
        is a provider error: it would loop."""
        if not isinstance(calls, list):
            raise self._upstream.malformed("malformed tool calls")
        flat = []
        for call in calls:
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict):
                raise self._upstream.malformed("a tool call without an id or function")
            flat.append({"id": call.get("id"), **function})
        parsed = read_tool_calls(flat, provider=self.name)
        results = await run_tool_round(parsed, shop, rounds, provider=self.name)
        messages.append(
            {
                "role": "assistant",
                "content": content if isinstance(content, str) else None,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    }
                    for call in parsed
                ],
            }
        )
        for call, result in zip(parsed, results, strict=True):
            messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)}
            )

    def _body(
        self,
        messages: list[dict[str, Any]],
        shop: ShopContext,
        rounds: ToolRounds,
        *,
        stream: bool,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self._model, "messages": messages, "stream": stream}
        specs = shop.tools.specs if shop.tools is not None else ()
        if specs:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": spec.name,
                        "description": spec.description,
                        "parameters": spec.parameters,
                    },
                }
                for spec in specs
            ]
            # Past the bound (rounds or time) the model must answer in words.
            body["tool_choice"] = "auto" if rounds.may_call() else "none"
        return body

    async def _messages(
        self, history: Sequence[ChatTurn], shop: ShopContext
    ) -> list[dict[str, Any]]:
        facts = await shop_facts(history, shop, self._now())
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": build_system_prompt(shop, facts)}
        ]
        # A stored "tool" turn has no tool_call_id the chat API would insist on (the
        # assistant's call is not kept): such turns are left out rather than sent malformed.
        messages += [
            {"role": turn.role, "content": turn.content} for turn in history if turn.role != "tool"
        ]
        return messages


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
    if shop.tools is not None and shop.tools.specs:
        lines.append(
            "Use the tools you are given to look up orders, opening hours, delivery, "
            "products and to take an order or hand over to a person; use what they return."
        )
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
