"""The HTTP providers against real servers on loopback.

A small Starlette app, served by uvicorn in a thread, plays Lilli and an OpenAI-compatible
server; raw asyncio servers cover what a well-behaved app cannot do (drop a connection,
start listening late). Paths pick the behaviour: ``{base}/{scenario}/v1/chat``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bloomer_ai.agent.config.schema import AgentConfig
from bloomer_ai.agent.providers import (
    AIProvider,
    ChatTurn,
    LilliProvider,
    OpenAIProvider,
    OrderFacts,
    ProviderError,
    ProviderTimeout,
    ShopContext,
    build_provider,
)
from bloomer_ai.agent.providers.base import ProviderError as BaseProviderError
from bloomer_ai.agent.providers.builtin import BuiltinProvider
from support.upstream import delta, sse

LILLI_KEY = "lk_test_secret_value"
OPENAI_KEY = "sk-test-secret-value"
USER_TEXT = "Where is my order A-1001? My phone is +64 21 555 0100"
SLOW_S = 1.0
SHORT_TIMEOUT_S = 0.3
FIXED_NOW = datetime(2026, 11, 30, 21, 30, tzinfo=UTC)  # Tuesday 10:30 in Auckland


# --- the imitation servers ------------------------------------------------------------------


class Recorder:
    """What the fake upstreams received, per scenario (appended from the server thread)."""

    def __init__(self) -> None:
        self.requests: dict[str, list[tuple[dict[str, str], Any]]] = defaultdict(list)

    def hits(self, scenario: str) -> int:
        return len(self.requests[scenario])

    def last(self, scenario: str) -> tuple[dict[str, str], Any]:
        return self.requests[scenario][-1]


RECORDER = Recorder()


def openai_chunk(content: str | None = None, finish: str | None = None) -> str:
    choice: dict[str, Any] = {"index": 0, "delta": {}, "finish_reason": finish}
    if content is not None:
        choice["delta"] = {"content": content}
    return f"data: {json.dumps({'id': 'c1', 'choices': [choice]})}\n\n"


async def record(request: Request) -> tuple[str, Any]:
    scenario = request.path_params["scenario"]
    raw = await request.body()
    RECORDER.requests[scenario].append((dict(request.headers), json.loads(raw)))
    return scenario, json.loads(raw)


async def fake_lilli(request: Request) -> Response:
    scenario, body = await record(request)
    if scenario == "slow":
        await asyncio.sleep(SLOW_S)
    if scenario == "fail500":
        return JSONResponse({"error": "upstream exploded"}, status_code=500)
    if scenario == "unauthorized":
        return JSONResponse({"error": "bad key"}, status_code=401)
    if scenario == "badjson":
        return Response(b'{"reply": "half', media_type="application/json")
    if scenario == "noreply":
        return JSONResponse({"answer": "wrong field"})
    if scenario == "emptyreply":
        return JSONResponse({"reply": "  "})
    if scenario == "drip":
        # Each piece arrives well within the read timeout; the whole takes too long.
        return sse('{"reply": ', "sleep:0.15", '"slow', "sleep:0.15", 'ly"', "sleep:0.15", "}")
    if body["stream"]:
        if scenario == "stream-cut":
            return sse(delta("Hello"), delta(" wor"))
        if scenario == "stream-stall":
            return sse(delta("Hello"), f"sleep:{SLOW_S}", delta(" late"), "data: [DONE]\n\n")
        if scenario == "stream-error":
            return sse(
                delta("Hel"),
                'event: error\ndata: {"code": "model_overloaded", "message": "Where is my"}\n\n',
            )
        if scenario == "stream-badjson":
            return sse("data: {not json\n\n", "data: [DONE]\n\n")
        if scenario == "stream-json":
            return JSONResponse({"reply": "Whole reply at once"})
        return sse(
            ": keep-alive\n\n",
            delta("Your order "),
            "event: progress\ndata: {}\n\n",  # unknown events are skipped
            delta(""),
            'data: {"delta":\ndata:  "A-1001 is on its way."}\n\n',  # multi-line data
            "data: [DONE]\n\n",
        )
    return JSONResponse({"reply": "Hello from Lilli", "extra": "ignored"})


async def fake_openai(request: Request) -> Response:
    scenario, body = await record(request)
    if scenario == "slow":
        await asyncio.sleep(SLOW_S)
    if scenario == "fail500":
        return JSONResponse({"error": {"message": "overloaded"}}, status_code=503)
    if scenario == "badjson":
        return Response(b"<html>gateway</html>", media_type="text/html")
    if scenario == "nochoices":
        return JSONResponse({"choices": []})
    if body["stream"]:
        if scenario == "stream-cut":
            return sse(openai_chunk("Hel"))
        if scenario == "stream-nodone":
            return sse(openai_chunk("Done"), openai_chunk(finish="stop"))
        if scenario == "stream-error":
            return sse(openai_chunk("Hel"), 'data: {"error": {"message": "boom"}}\n\n')
        return sse(
            f"data: {json.dumps({'choices': [{'index': 0, 'delta': {'role': 'assistant'}}]})}\n\n",
            openai_chunk("Bloom & Co "),
            openai_chunk("opens at 9."),
            openai_chunk(finish="stop"),
            f"data: {json.dumps({'choices': [], 'usage': {'total_tokens': 9}})}\n\n",
            "data: [DONE]\n\n",
        )
    answer = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi there"}}]}
    return JSONResponse(answer)


APP = Starlette(
    routes=[
        Route("/{scenario}/v1/chat", fake_lilli, methods=["POST"]),
        Route("/{scenario}/chat/completions", fake_openai, methods=["POST"]),
    ]
)


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    config = uvicorn.Config(
        APP,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        log_config=None,  # uvicorn would otherwise take over the process's logging
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "test server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


# --- helpers ---------------------------------------------------------------------------------


async def find_order(number: str) -> OrderFacts | None:
    if number == "A-1001":
        return OrderFacts("A-1001", "out_for_delivery", date(2026, 12, 3), FIXED_NOW)
    return None


SHOP = ShopContext(
    shop_id="shop_42",
    shop_name="Bloom & Co",
    timezone="Pacific/Auckland",
    country="NZ",
    config=AgentConfig.model_validate(
        {
            "greeting": "Kia ora!",
            "language": "en-NZ",
            "businessHours": {"weekly": {"tue": [["09:00", "17:00"]]}},
        }
    ),
    customer_first_name="Anna",
    last_order=OrderFacts("A-0999", "delivered", date(2026, 11, 20), FIXED_NOW),
    find_order=find_order,
)
HISTORY = [
    ChatTurn("assistant", "Kia ora!"),
    ChatTurn("tool", '{"lookup": "ignored by openai"}'),
    ChatTurn("user", USER_TEXT),
]


def lilli(base: str, scenario: str, **overrides: Any) -> LilliProvider:
    options: dict[str, Any] = {
        "base_url": f"{base}/{scenario}",
        "api_key": LILLI_KEY,
        "timeout_s": 5.0,
        "now": lambda: FIXED_NOW,
        "retry_backoff_s": 0.01,
    }
    return LilliProvider(**{**options, **overrides})


def openai(base: str, scenario: str, **overrides: Any) -> OpenAIProvider:
    options: dict[str, Any] = {
        "base_url": f"{base}/{scenario}",
        "api_key": OPENAI_KEY,
        "model": "test-model",
        "timeout_s": 5.0,
        "now": lambda: FIXED_NOW,
        "retry_backoff_s": 0.01,
    }
    return OpenAIProvider(**{**options, **overrides})


async def collect(provider: AIProvider) -> list[str]:
    return [chunk async for chunk in provider.stream(HISTORY, SHOP)]


async def expect_error(
    call: Callable[[], Awaitable[object]], error: type[ProviderError] = ProviderError
) -> ProviderError:
    with pytest.raises(error) as caught:
        await call()
    message = str(caught.value)
    # Error messages are logged and shown: no secrets, no user text, no URL.
    for leak in (LILLI_KEY, OPENAI_KEY, USER_TEXT, "A-1001", "127.0.0.1", "exploded"):
        assert leak not in message
    return caught.value


@pytest.fixture(autouse=True)
def fresh_recorder() -> None:
    RECORDER.requests.clear()


# --- Lilli ------------------------------------------------------------------------------------


async def test_lilli_complete_sends_the_documented_request(server_url: str) -> None:
    provider = lilli(server_url, "ok")
    try:
        assert await provider.complete(HISTORY, SHOP) == "Hello from Lilli"
    finally:
        await provider.aclose()
    headers, body = RECORDER.last("ok")
    assert headers["authorization"] == f"Bearer {LILLI_KEY}"
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/json"
    assert body["stream"] is False
    assert body["shop"] == {
        "id": "shop_42",
        "name": "Bloom & Co",
        "timezone": "Pacific/Auckland",
        "country": "NZ",
        "config": SHOP.config.to_json(),
    }
    assert body["shop"]["config"]["businessHours"]["weekly"]["tue"] == [["09:00", "17:00"]]
    assert body["customer"] == {
        "firstName": "Anna",
        "lastOrder": {
            "orderNumber": "A-0999",
            "status": "delivered",
            "deliveryDate": "2026-11-20",
            "createdAt": "2026-11-30T21:30:00+00:00",
        },
    }
    assert body["context"] == {
        "localTime": "2026-12-01T10:30+13:00",
        "openNow": True,
        "mentionedOrder": {
            "number": "A-1001",
            "found": True,
            "order": {
                "orderNumber": "A-1001",
                "status": "out_for_delivery",
                "deliveryDate": "2026-12-03",
                "createdAt": "2026-11-30T21:30:00+00:00",
            },
        },
    }
    assert body["messages"] == [
        {"role": "assistant", "content": "Kia ora!"},
        {"role": "tool", "content": '{"lookup": "ignored by openai"}'},
        {"role": "user", "content": USER_TEXT},
    ]


async def test_lilli_request_without_customer_omits_it(server_url: str) -> None:
    anonymous = dataclasses.replace(SHOP, customer_first_name=None, last_order=None)
    provider = lilli(server_url, "ok")
    try:
        await provider.complete([ChatTurn("user", "hi")], anonymous)
    finally:
        await provider.aclose()
    _, body = RECORDER.last("ok")
    assert "customer" not in body
    assert body["context"]["mentionedOrder"] is None


async def test_lilli_stream_yields_deltas_until_done(server_url: str) -> None:
    provider = lilli(server_url, "ok")
    try:
        chunks = await collect(provider)
    finally:
        await provider.aclose()
    assert chunks == ["Your order ", "A-1001 is on its way."]
    headers, body = RECORDER.last("ok")
    assert headers["accept"] == "text/event-stream"
    assert headers["authorization"] == f"Bearer {LILLI_KEY}"
    assert body["stream"] is True


async def test_lilli_stream_accepts_a_whole_json_reply(server_url: str) -> None:
    provider = lilli(server_url, "stream-json")
    try:
        assert await collect(provider) == ["Whole reply at once"]
    finally:
        await provider.aclose()


@pytest.mark.parametrize("scenario", ["stream-cut", "stream-error", "stream-badjson"])
async def test_lilli_broken_streams_are_provider_errors(server_url: str, scenario: str) -> None:
    provider = lilli(server_url, scenario)
    try:
        error = await expect_error(lambda: collect(provider))
    finally:
        await provider.aclose()
    assert type(error) is ProviderError
    assert error.provider == "lilli"
    if scenario == "stream-error":
        assert "model_overloaded" in str(error)
        assert "Where is my" not in str(error)


async def test_lilli_slow_answer_is_a_timeout_and_not_retried(server_url: str) -> None:
    provider = lilli(server_url, "slow", timeout_s=SHORT_TIMEOUT_S)
    started = time.monotonic()
    try:
        await expect_error(lambda: provider.complete(HISTORY, SHOP), ProviderTimeout)
    finally:
        await provider.aclose()
    assert time.monotonic() - started < SLOW_S
    assert RECORDER.hits("slow") == 1


async def test_lilli_whole_reply_has_one_deadline(server_url: str) -> None:
    # Every byte arrives within the read timeout, yet the reply as a whole is too late.
    provider = lilli(server_url, "drip", timeout_s=SHORT_TIMEOUT_S)
    try:
        error = await expect_error(lambda: provider.complete(HISTORY, SHOP), ProviderTimeout)
    finally:
        await provider.aclose()
    # Our overall deadline fired, not httpx's per-read timeout.
    assert isinstance(error.__cause__, TimeoutError)


async def test_lilli_stream_stall_is_a_timeout_after_the_first_piece(server_url: str) -> None:
    provider = lilli(server_url, "stream-stall", timeout_s=SHORT_TIMEOUT_S)
    received: list[str] = []

    async def consume() -> None:
        async for chunk in provider.stream(HISTORY, SHOP):
            received.append(chunk)

    try:
        await expect_error(consume, ProviderTimeout)
    finally:
        await provider.aclose()
    assert received == ["Hello"]


@pytest.mark.parametrize(("scenario", "status"), [("fail500", 500), ("unauthorized", 401)])
async def test_lilli_error_status_is_a_provider_error_without_retry(
    server_url: str, scenario: str, status: int
) -> None:
    provider = lilli(server_url, scenario)
    try:
        error = await expect_error(lambda: provider.complete(HISTORY, SHOP))
        assert type(error) is ProviderError
        assert error.upstream_status == status
        assert str(error) == f"lilli answered HTTP {status}"
        await expect_error(lambda: collect(provider))
    finally:
        await provider.aclose()
    assert RECORDER.hits(scenario) == 2  # one complete, one stream: never retried


@pytest.mark.parametrize("scenario", ["badjson", "noreply", "emptyreply"])
async def test_lilli_malformed_answers_are_provider_errors(server_url: str, scenario: str) -> None:
    provider = lilli(server_url, scenario)
    try:
        error = await expect_error(lambda: provider.complete(HISTORY, SHOP))
    finally:
        await provider.aclose()
    assert type(error) is ProviderError
    assert RECORDER.hits(scenario) == 1


# --- connection failures and retries ----------------------------------------------------


class CountingTransport(httpx.AsyncBaseTransport):
    """The real transport, counting attempts; can run a hook after a refused connect."""

    def __init__(self, on_refused: Callable[[], Awaitable[None]] | None = None) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.attempts = 0
        self.on_refused = on_refused

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        try:
            return await self.inner.handle_async_request(request)
        except httpx.ConnectError:
            if self.on_refused is not None:
                await self.on_refused()
                self.on_refused = None
            raise

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
def unused_socket() -> Iterator[socket.socket]:
    """A port that is bound but not listening: connecting to it is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


def url_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def read_http_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return await reader.readexactly(length)


async def test_connection_refused_is_retried_twice_then_a_provider_error(
    unused_socket: socket.socket,
) -> None:
    transport = CountingTransport()
    provider = lilli(url_of(unused_socket), "x", transport=transport)
    try:
        error = await expect_error(lambda: provider.complete(HISTORY, SHOP))
        assert str(error) == "could not connect to lilli"
        assert transport.attempts == 3  # the first try and two retries
        await expect_error(lambda: collect(provider))
        assert transport.attempts == 6
    finally:
        await provider.aclose()


async def test_a_server_that_starts_listening_late_is_reached_by_a_retry(
    unused_socket: socket.socket,
) -> None:
    bodies: list[Any] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        bodies.append(json.loads(await read_http_request(reader)))
        payload = b'{"reply": "late but fine"}'
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload
        )
        await writer.drain()
        writer.close()

    servers: list[asyncio.Server] = []

    async def start_listening() -> None:
        servers.append(await asyncio.start_server(answer, sock=unused_socket))

    transport = CountingTransport(on_refused=start_listening)
    provider = lilli(url_of(unused_socket), "late", transport=transport)
    try:
        assert await provider.complete(HISTORY, SHOP) == "late but fine"
    finally:
        await provider.aclose()
        for server in servers:
            server.close()
    assert transport.attempts == 2
    assert len(bodies) == 1


async def test_a_dropped_connection_after_sending_is_not_retried() -> None:
    received = 0

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal received
        await read_http_request(reader)
        received += 1
        writer.close()  # the request arrived; no answer

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    provider = lilli(f"http://127.0.0.1:{port}", "x")
    try:
        error = await expect_error(lambda: provider.complete(HISTORY, SHOP))
        assert type(error) is ProviderError
        assert "RemoteProtocolError" in str(error)
    finally:
        await provider.aclose()
        server.close()
    assert received == 1


# --- OpenAI-compatible --------------------------------------------------------------------------


async def test_openai_complete_sends_model_system_prompt_and_history(server_url: str) -> None:
    provider = openai(server_url, "ok")
    try:
        assert await provider.complete(HISTORY, SHOP) == "Hi there"
    finally:
        await provider.aclose()
    headers, body = RECORDER.last("ok")
    assert headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert body["model"] == "test-model"
    assert body["stream"] is False
    system, *rest = body["messages"]
    assert system["role"] == "system"
    prompt = system["content"]
    assert '"Bloom & Co"' in prompt
    assert '"Kia ora!"' in prompt
    assert "en-NZ" in prompt
    assert "Opening hours (Pacific/Auckland time): Mon closed; Tue 09:00–17:00" in prompt
    assert "The shop is open now." in prompt
    assert "first name is Anna" in prompt
    assert "number A-1001, status out_for_delivery, delivery date 2026-12-03" in prompt
    assert "Never invent" in prompt
    # The tool turn is left out: the chat API would refuse it without a tool_call_id.
    assert rest == [
        {"role": "assistant", "content": "Kia ora!"},
        {"role": "user", "content": USER_TEXT},
    ]


async def test_openai_prompt_says_when_an_order_is_unknown(server_url: str) -> None:
    provider = openai(server_url, "ok")
    try:
        await provider.complete([ChatTurn("user", "status of order 777?")], SHOP)
    finally:
        await provider.aclose()
    _, body = RECORDER.last("ok")
    assert "There is no order with the number 777 in this shop." in body["messages"][0]["content"]


async def test_openai_without_key_sends_no_authorization(server_url: str) -> None:
    provider = openai(server_url, "ok", api_key=None)
    try:
        await provider.complete(HISTORY, SHOP)
    finally:
        await provider.aclose()
    headers, _ = RECORDER.last("ok")
    assert "authorization" not in headers


async def test_openai_stream_reads_delta_content_until_done(server_url: str) -> None:
    provider = openai(server_url, "ok")
    try:
        assert await collect(provider) == ["Bloom & Co ", "opens at 9."]
    finally:
        await provider.aclose()
    headers, body = RECORDER.last("ok")
    assert body["stream"] is True
    assert headers["accept"] == "text/event-stream"


async def test_openai_stream_ending_after_finish_reason_is_complete(server_url: str) -> None:
    provider = openai(server_url, "stream-nodone")
    try:
        assert await collect(provider) == ["Done"]
    finally:
        await provider.aclose()


@pytest.mark.parametrize("scenario", ["stream-cut", "stream-error"])
async def test_openai_broken_streams_are_provider_errors(server_url: str, scenario: str) -> None:
    provider = openai(server_url, scenario)
    try:
        error = await expect_error(lambda: collect(provider))
    finally:
        await provider.aclose()
    assert error.provider == "openai"


async def test_openai_slow_answer_is_a_timeout(server_url: str) -> None:
    provider = openai(server_url, "slow", timeout_s=SHORT_TIMEOUT_S)
    try:
        await expect_error(lambda: provider.complete(HISTORY, SHOP), ProviderTimeout)
        await expect_error(lambda: collect(provider), ProviderTimeout)
    finally:
        await provider.aclose()
    assert RECORDER.hits("slow") == 2


@pytest.mark.parametrize("scenario", ["fail500", "badjson", "nochoices"])
async def test_openai_failures_are_provider_errors_without_retry(
    server_url: str, scenario: str
) -> None:
    provider = openai(server_url, scenario)
    try:
        error = await expect_error(lambda: provider.complete(HISTORY, SHOP))
    finally:
        await provider.aclose()
    assert type(error) is ProviderError
    assert RECORDER.hits(scenario) == 1


async def test_openai_connection_refused_is_retried(unused_socket: socket.socket) -> None:
    transport = CountingTransport()
    provider = openai(url_of(unused_socket), "x", transport=transport)
    try:
        await expect_error(lambda: provider.complete(HISTORY, SHOP))
    finally:
        await provider.aclose()
    assert transport.attempts == 3


# --- the factory ----------------------------------------------------------------------------


def build(kind: str, **overrides: Any) -> AIProvider:
    options: dict[str, Any] = {
        "lilli_base_url": None,
        "lilli_api_key": None,
        "lilli_timeout_s": 5.0,
        "openai_base_url": None,
        "openai_api_key": None,
        "openai_model": "test-model",
        "timeout_s": 5.0,
        "now": lambda: FIXED_NOW,
    }
    return build_provider(kind, **{**options, **overrides})


async def test_factory_builds_working_http_providers(server_url: str) -> None:
    providers = [
        build("lilli", lilli_base_url=f"{server_url}/ok", lilli_api_key=LILLI_KEY),
        build("openai", openai_base_url=f"{server_url}/ok", openai_api_key=OPENAI_KEY),
    ]
    try:
        replies = [await provider.complete(HISTORY, SHOP) for provider in providers]
    finally:
        for provider in providers:
            await provider.aclose()
    assert [p.name for p in providers] == ["lilli", "openai"]
    assert replies == ["Hello from Lilli", "Hi there"]
    assert isinstance(build("builtin"), BuiltinProvider)


@pytest.mark.parametrize(
    ("kind", "overrides", "variable"),
    [
        ("lilli", {"lilli_api_key": "k"}, "LILLI_BASE_URL"),
        ("lilli", {"lilli_base_url": "http://lilli.internal"}, "LILLI_API_KEY"),
        ("openai", {}, "OPENAI_BASE_URL"),
        ("magic", {}, "AI_PROVIDER"),
    ],
)
def test_factory_names_the_missing_setting(
    kind: str, overrides: dict[str, Any], variable: str
) -> None:
    with pytest.raises(ValueError, match=variable):
        build(kind, **overrides)


def test_timeout_is_a_provider_error() -> None:
    # The API maps ProviderError → 502 and its subclass ProviderTimeout → 504.
    assert issubclass(ProviderTimeout, BaseProviderError)
    assert (ProviderError.code, ProviderTimeout.code) == ("provider_error", "provider_timeout")
