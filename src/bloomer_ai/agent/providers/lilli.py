"""The Lilli service over HTTP; the contract is written down in docs/lilli-provider-contract.md."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any, Unpack

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

CHAT_PATH = "/v1/chat"
_ERROR_CODE_RE = re.compile(r"^[a-z0-9_]{1,64}$")


class LilliProvider(BearerUpstreamProvider):
    name = "lilli"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout_s: float,
        now: Callable[[], datetime],
        tool_rounds: int = 4,
        tool_budget_s: float = 30.0,
        **options: Unpack[UpstreamOptions],
    ) -> None:
        super().__init__(base_url=base_url, api_key=api_key, timeout_s=timeout_s, **options)
        self._now = now
        self._tool_rounds = tool_rounds
        self._tool_budget_s = tool_budget_s

    async def complete(self, history: Sequence[ChatTurn], shop: ShopContext) -> str:
        body = await self._request_body(history, shop, stream=False)
        rounds = ToolRounds(self._tool_rounds, self._tool_budget_s)
        while True:
            self._offer_tools(body, shop, rounds)
            answer = await self._upstream.post_json(CHAT_PATH, body)
            if isinstance(answer, dict) and answer.get("toolCalls"):
                await self._run_calls(answer["toolCalls"], "", body, shop, rounds)
                continue
            return non_empty_reply(self._reply_of(answer), provider=self.name)

    async def stream(self, history: Sequence[ChatTurn], shop: ShopContext) -> AsyncIterator[str]:
        body = await self._request_body(history, shop, stream=True)
        rounds = ToolRounds(self._tool_rounds, self._tool_budget_s)
        produced = False
        while True:
            self._offer_tools(body, shop, rounds)
            calls: Any = None
            said: list[str] = []
            ended = False
            async with self._upstream.open_stream(CHAT_PATH, body) as response:
                if response.headers.get("content-type", "").startswith("application/json"):
                    # Lilli may answer a stream request in one piece; the contract allows it.
                    answer = await self._upstream.read_json(response)
                    if isinstance(answer, dict) and answer.get("toolCalls"):
                        calls, ended = answer["toolCalls"], True
                    else:
                        yield non_empty_reply(self._reply_of(answer), provider=self.name)
                        return
                else:
                    async for event in self._upstream.events(response):
                        if event.event == "done" or event.data == "[DONE]":
                            ended = True
                            break
                        if event.event == "error":
                            raise self._upstream.malformed(
                                f"an error event{self._error_code(event.data)}"
                            )
                        if event.event == "tool_calls":
                            payload = self._upstream.decode_json(event.data, what="stream event")
                            if not isinstance(payload, dict):
                                raise self._upstream.malformed("malformed tool calls")
                            calls = payload.get("toolCalls")
                            continue
                        if event.event != "message":
                            continue  # unknown event kinds are for future use; skip them
                        delta = self._delta_of(
                            self._upstream.decode_json(event.data, what="stream event")
                        )
                        if delta:
                            produced = True
                            said.append(delta)
                            yield delta
            if not ended:
                raise self._upstream.malformed("a stream that ended before [DONE]")
            if calls:
                await self._run_calls(calls, "".join(said), body, shop, rounds)
                continue
            if not produced:
                raise self._upstream.malformed("an empty reply")
            return

    def _offer_tools(self, body: dict[str, Any], shop: ShopContext, rounds: ToolRounds) -> None:
        specs = shop.tools.specs if shop.tools is not None else ()
        if not specs:
            return
        body["tools"] = [
            {"name": spec.name, "description": spec.description, "parameters": spec.parameters}
            for spec in specs
        ]
        # Past the bound (rounds or time) Lilli must answer in words.
        body["toolChoice"] = "auto" if rounds.may_call() else "none"

    async def _run_calls(
        self,
        raw_calls: Any,
        said: str,
        body: dict[str, Any],
        shop: ShopContext,
        rounds: ToolRounds,
    ) -> None:
        calls = read_tool_calls(raw_calls, provider=self.name)
        results = await run_tool_round(calls, shop, rounds, provider=self.name)
        messages: list[dict[str, Any]] = body["messages"]
        messages.append(
            {
                "role": "assistant",
                "content": said,
                "toolCalls": [
                    {"id": call.id, "name": call.name, "arguments": call.arguments}
                    for call in calls
                ],
            }
        )
        for call, result in zip(calls, results, strict=True):
            messages.append(
                {
                    "role": "tool",
                    "toolCallId": call.id,
                    "name": call.name,
                    "content": json.dumps(result),
                }
            )

    async def _request_body(
        self, history: Sequence[ChatTurn], shop: ShopContext, *, stream: bool
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "shop": {
                "id": shop.shop_id,
                "name": shop.shop_name,
                "timezone": shop.timezone,
                "country": shop.country,
                "config": shop.config.to_json(),
            },
            "messages": [{"role": turn.role, "content": turn.content} for turn in history],
            "context": await shop_facts(history, shop, self._now()),
            "stream": stream,
        }
        if shop.customer_first_name is not None or shop.last_order is not None:
            body["customer"] = {
                "firstName": shop.customer_first_name,
                "lastOrder": shop.last_order.to_json() if shop.last_order else None,
            }
        return body

    def _reply_of(self, answer: Any) -> str:
        if not isinstance(answer, dict) or not isinstance(answer.get("reply"), str):
            raise self._upstream.malformed('a response without a "reply" string')
        reply: str = answer["reply"]
        return reply

    def _delta_of(self, event: Any) -> str:
        if not isinstance(event, dict) or not isinstance(event.get("delta"), str):
            raise self._upstream.malformed('a stream event without a "delta" string')
        delta: str = event["delta"]
        return delta

    @staticmethod
    def _error_code(data: str) -> str:
        """`` (code x)`` when the error event carries a plain code; its message is not
        repeated, as it may quote the user."""
        try:
            payload = json.loads(data)
        except ValueError:
            return ""
        code = payload.get("code") if isinstance(payload, dict) else None
        if isinstance(code, str) and _ERROR_CODE_RE.match(code):
            return f" (code {code})"
        return ""
