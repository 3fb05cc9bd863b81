"""What every AI provider gets, returns and raises, plus the plumbing the HTTP ones share.

A provider turns a conversation's recent history and the shop's context into a reply.
It never touches the database: anything it may need to look up (an order by number) is
handed to it as a shop-scoped callable in ``ShopContext``, and the shop tools
(``docs/tools.md``) as ``ShopContext.tools``, which runs each call in a transaction of its
own (the agent never imports the tools domain: ``lifespan`` hands them over).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Literal, Protocol, TypedDict, Unpack

import httpx

from bloomer_ai.agent.assistant.order_numbers import extract_order_number
from bloomer_ai.agent.config.schema import AgentConfig, hours_zone, is_open_at

Role = Literal["user", "assistant", "system", "tool"]


@dataclass(frozen=True, slots=True)
class ChatTurn:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class OrderFacts:
    order_number: str
    status: str
    delivery_date: date | None
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "orderNumber": self.order_number,
            "status": self.status,
            "deliveryDate": self.delivery_date.isoformat() if self.delivery_date else None,
            "createdAt": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A shop tool as a model is offered it."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolReply:
    """How a tool call ended: ``ok`` with its ``result``, or an ``error`` {code, message}."""

    name: str
    ok: bool
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        return (
            {"ok": True, "result": self.result} if self.ok else {"ok": False, "error": self.error}
        )


class ShopTools(Protocol):
    """The shop tools a conversation may use (by its caller's scopes)."""

    @property
    def specs(self) -> Sequence[ToolSpec]: ...

    async def call(
        self, name: str, arguments: Mapping[str, object] | str, *, call_id: str | None = None
    ) -> ToolReply:
        """Run one tool; never raises for an unknown tool, bad arguments or a failing tool.
        ``call_id``: a model's id of the call (function calling): the call's idempotency
        key in the conversation, and the turn is kept as a message with role ``tool``."""
        ...


@dataclass(slots=True)
class ToolRounds:
    """The bound on a turn's tool calls: at most ``rounds`` rounds within ``budget_s``."""

    rounds: int
    budget_s: float
    used: int = 0
    started: float = field(default_factory=time.monotonic)

    def may_call(self) -> bool:
        return self.used < self.rounds and time.monotonic() - self.started < self.budget_s


MAX_CALLS_PER_ROUND = 8
TOO_MANY_CALLS: dict[str, Any] = {
    "ok": False,
    "error": {
        "code": "too_many_calls",
        "message": f"At most {MAX_CALLS_PER_ROUND} tool calls per round.",
    },
}


@dataclass(frozen=True, slots=True)
class ToolCallRequest:
    """One tool call a model asked for: its id, the tool's name, the arguments' JSON text."""

    id: str
    name: str
    arguments: str


def read_tool_calls(calls: Any, *, provider: str) -> list[ToolCallRequest]:
    """``[{id, name, arguments}]`` (arguments as JSON text or an object): a call without an
    id is a provider error; a missing name or arguments go to the tool, which refuses them."""
    if not isinstance(calls, list) or not calls:
        raise ProviderError(f"{provider} sent malformed tool calls", provider=provider)
    read: list[ToolCallRequest] = []
    for call in calls:
        call_id = call.get("id") if isinstance(call, dict) else None
        if not isinstance(call_id, str) or not call_id:
            raise ProviderError(f"{provider} sent a tool call without an id", provider=provider)
        name = call.get("name")
        arguments = call.get("arguments")
        if isinstance(arguments, dict):
            arguments = json.dumps(arguments)
        read.append(
            ToolCallRequest(
                call_id[:200],
                name if isinstance(name, str) else "",
                arguments if isinstance(arguments, str) else "",
            )
        )
    return read


async def run_tool_round(
    calls: Sequence[ToolCallRequest], shop: ShopContext, rounds: ToolRounds, *, provider: str
) -> list[dict[str, Any]]:
    """Run one round of calls (their results in order); tools asked for when none were
    offered, or past the bound, are a provider error: the model would loop."""
    if shop.tools is None or not rounds.may_call():
        raise ProviderError(
            f"{provider} sent tool calls beyond the rounds allowed", provider=provider
        )
    rounds.used += 1
    return [
        (await shop.tools.call(call.name, call.arguments, call_id=call.id)).to_json()
        if position < MAX_CALLS_PER_ROUND
        else TOO_MANY_CALLS
        for position, call in enumerate(calls)
    ]


@dataclass(frozen=True, slots=True)
class ShopContext:
    shop_id: str
    shop_name: str
    timezone: str
    country: str
    config: AgentConfig
    customer_first_name: str | None
    last_order: OrderFacts | None
    # Looks up an order of *this* shop by its number or id; None when there is none.
    find_order: Callable[[str], Awaitable[OrderFacts | None]]
    tools: ShopTools | None = None
    """The shop tools this conversation may call; None where none are wired (a bare test)."""


class AIProvider(Protocol):
    name: str

    async def complete(self, history: Sequence[ChatTurn], shop: ShopContext) -> str:
        """The whole reply to the last user turn of ``history``."""
        ...

    def stream(self, history: Sequence[ChatTurn], shop: ShopContext) -> AsyncIterator[str]:
        """The reply in pieces, in order; may raise ``ProviderError`` part-way."""
        ...

    async def aclose(self) -> None:
        """Release connections; the provider is not used afterwards."""
        ...


class ProviderError(Exception):
    """The provider failed or answered nonsense (the API answers 502 provider_error).

    Messages are written for logs and error bodies: they name the provider and what went
    wrong, never a secret, a URL or anything the user wrote.
    """

    code: ClassVar[str] = "provider_error"

    def __init__(self, message: str, *, provider: str, upstream_status: int | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.upstream_status = upstream_status


class ProviderTimeout(ProviderError):
    """The provider did not answer in time (the API answers 504 provider_timeout)."""

    code: ClassVar[str] = "provider_timeout"


# --- reading the conversation ------------------------------------------------------------


def latest_user_message(history: Sequence[ChatTurn]) -> str | None:
    for turn in reversed(history):
        if turn.role == "user":
            return turn.content
    return None


@dataclass(frozen=True, slots=True)
class MentionedOrder:
    number: str
    order: OrderFacts | None  # None: no order of this shop has that number


async def lookup_mentioned_order(
    history: Sequence[ChatTurn], shop: ShopContext
) -> MentionedOrder | None:
    """Looks up the order the latest user message names, so a provider can answer from
    facts instead of guessing."""
    text = latest_user_message(history)
    number = extract_order_number(text) if text else None
    if number is None:
        return None
    return MentionedOrder(number=number, order=await shop.find_order(number))


async def shop_facts(
    history: Sequence[ChatTurn], shop: ShopContext, now: datetime
) -> dict[str, Any]:
    """Facts a language model may use, computed here so it never has to guess them."""
    try:
        local_now = now.astimezone(hours_zone(shop.config, shop.timezone))
        open_now: bool | None = (
            is_open_at(shop.config, shop.timezone, now, country=shop.country)
            if shop.config.business_hours is not None
            else None
        )
    except ValueError:  # a shop row with an unknown time zone: say nothing about "now"
        local_now, open_now = now, None
    mentioned = await lookup_mentioned_order(history, shop)
    return {
        "localTime": local_now.isoformat(timespec="minutes"),
        "openNow": open_now,
        "mentionedOrder": None
        if mentioned is None
        else {
            "number": mentioned.number,
            "found": mentioned.order is not None,
            "order": mentioned.order.to_json() if mentioned.order else None,
        },
    }


# --- HTTP plumbing shared by the lilli and openai providers -----------------------------


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str
    data: str


async def iter_sse(lines: AsyncIterator[str]) -> AsyncIterator[SseEvent]:
    """Server-sent events from a response's lines (WHATWG rules, without retry/id)."""
    event_name = ""
    data_lines: list[str] = []
    async for line in lines:
        if line == "":
            if data_lines:
                yield SseEvent(event=event_name or "message", data="\n".join(data_lines))
            event_name, data_lines = "", []
            continue
        if line.startswith(":"):  # comment / keep-alive
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            data_lines.append(value)
        elif field == "event":
            event_name = value
    # A last event without its blank line is discarded, as the SSE spec says: it may be
    # a cut-off write.


class UpstreamOptions(TypedDict, total=False):
    """How an HTTP provider reaches its upstream (besides its address and key)."""

    connect_retries: int
    retry_backoff_s: float
    transport: httpx.AsyncBaseTransport | None


class BearerUpstreamProvider:
    """A provider of one JSON-over-HTTP upstream authorised by a bearer key (no key: no
    ``Authorization`` header, as local OpenAI-compatible servers want): the construction
    and closing the campaign copy writers and generators share."""

    name: str
    remote = True

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        timeout_s: float,
        **options: Unpack[UpstreamOptions],
    ) -> None:
        self._upstream = HttpUpstream(
            provider=self.name,
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"} if api_key else {},
            timeout_s=timeout_s,
            **options,
        )

    async def aclose(self) -> None:
        await self._upstream.aclose()


def unfenced(content: str) -> str:
    """The JSON inside a Markdown code fence, which some models add anyway."""
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text


class HttpUpstream:
    """One JSON-over-HTTP upstream with the shared timeout, retry and error rules.

    - A request is retried only when the connection could not be made (nothing was sent):
      at most ``connect_retries`` times, with a short doubling pause. Timeouts, broken
      connections and 5xx answers are never retried, since the upstream may already be
      working on the request.
    - ``post_json`` has one deadline of ``timeout_s`` for everything, retries included.
      A stream gets ``timeout_s`` for each wait (connect, headers, next chunk).
    - The environment (proxy variables) is ignored: settings are the only configuration.
    """

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        headers: Mapping[str, str],
        timeout_s: float,
        connect_retries: int = 2,
        retry_backoff_s: float = 0.1,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.provider = provider
        self._timeout_s = timeout_s
        self._connect_retries = connect_retries
        self._retry_backoff_s = retry_backoff_s
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"User-Agent": "bloomer-ai", **headers},
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
            trust_env=False,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def post_json(self, path: str, body: Mapping[str, Any]) -> Any:
        """POST ``body`` and return the decoded JSON answer."""
        with self._translate_errors():
            try:
                async with asyncio.timeout(self._timeout_s):
                    response = await self._send(path, body, accept="application/json")
                    try:
                        self._check_status(response)
                        await response.aread()
                    finally:
                        await response.aclose()
            except TimeoutError as exc:
                raise self._timeout() from exc
        return self.decode_json(response.content, what="response")

    @contextlib.asynccontextmanager
    async def open_stream(
        self, path: str, body: Mapping[str, Any]
    ) -> AsyncIterator[httpx.Response]:
        """POST ``body`` asking for server-sent events; yields the 2xx response."""
        with self._translate_errors():
            response = await self._send(path, body, accept="text/event-stream")
        try:
            with self._translate_errors():
                self._check_status(response)
            yield response
        finally:
            await response.aclose()

    async def events(self, response: httpx.Response) -> AsyncIterator[SseEvent]:
        """The server-sent events of an open stream, transport errors translated."""
        with self._translate_errors():
            async for event in iter_sse(response.aiter_lines()):
                yield event

    async def read_json(self, response: httpx.Response) -> Any:
        """The whole body of an open response, decoded (for a JSON answer to a stream)."""
        with self._translate_errors():
            await response.aread()
        return self.decode_json(response.content, what="response")

    def decode_json(self, raw: bytes | str, *, what: str) -> Any:
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ProviderError(
                f"{self.provider} sent a {what} that is not valid JSON", provider=self.provider
            ) from exc

    def malformed(self, detail: str) -> ProviderError:
        return ProviderError(f"{self.provider} sent {detail}", provider=self.provider)

    async def _send(self, path: str, body: Mapping[str, Any], *, accept: str) -> httpx.Response:
        request = self._client.build_request("POST", path, json=body, headers={"Accept": accept})
        attempt = 0
        while True:
            try:
                return await self._client.send(request, stream=True)
            except httpx.ConnectError as exc:
                # Connection refused / name not resolved: the request never left, so a
                # retry cannot run anything twice.
                if attempt >= self._connect_retries:
                    raise ProviderError(
                        f"could not connect to {self.provider}", provider=self.provider
                    ) from exc
                await asyncio.sleep(self._retry_backoff_s * 2**attempt)
                attempt += 1

    def _check_status(self, response: httpx.Response) -> None:
        if not response.is_success:
            # The body is not quoted: it may echo the user's message or our request.
            raise ProviderError(
                f"{self.provider} answered HTTP {response.status_code}",
                provider=self.provider,
                upstream_status=response.status_code,
            )

    def _timeout(self) -> ProviderTimeout:
        return ProviderTimeout(f"{self.provider} did not answer in time", provider=self.provider)

    @contextlib.contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except ProviderError:
            raise
        except httpx.TimeoutException as exc:
            raise self._timeout() from exc
        except httpx.HTTPError as exc:
            raise ProviderError(
                f"{self.provider} request failed ({type(exc).__name__})", provider=self.provider
            ) from exc


def non_empty_reply(reply: str, *, provider: str) -> str:
    if not reply.strip():
        raise ProviderError(f"{provider} sent an empty reply", provider=provider)
    return reply
