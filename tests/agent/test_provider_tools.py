"""Function calling in the HTTP providers, against a real loopback server speaking the
chat-completions protocol: scripted tool calls, malformed arguments, a failing tool, a
model that loops, and streaming with tool calls in pieces."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bloomer_ai.agent.config.schema import AgentConfig
from bloomer_ai.agent.providers import (
    ChatTurn,
    OpenAIProvider,
    ProviderError,
    ShopContext,
    ToolReply,
    ToolSpec,
)
from support.upstream import sse

NOW = datetime(2026, 12, 18, 9, 0, tzinfo=UTC)
REQUESTS: dict[str, list[dict[str, Any]]] = defaultdict(list)


def tool_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def answer_with(message: dict[str, Any]) -> JSONResponse:
    finish = "tool_calls" if message.get("tool_calls") else "stop"
    return JSONResponse(
        {
            "choices": [
                {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}
            ]
        }
    )


def unwrap(content: str) -> dict[str, Any]:
    """A tool message's content: ``{"ok": true, "result": …}`` or ``{"ok": false, "error": …}``."""
    reply = json.loads(content)
    return reply["result"] if reply["ok"] else {"error": reply["error"]}


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [unwrap(m["content"]) for m in body["messages"] if m["role"] == "tool"]


def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    payload = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(payload)}\n\n"


async def completions(request: Request) -> Response:
    scenario = request.path_params["scenario"]
    body = json.loads(await request.body())
    REQUESTS[scenario].append(body)
    results = tool_results(body)
    if scenario == "loops":
        n = len(REQUESTS[scenario])
        return answer_with(
            {"content": None, "tool_calls": [tool_call(f"c{n}", "opening_hours", "{}")]}
        )
    if body["stream"]:
        if not results:
            # One tool call in pieces: the id and name first, the arguments in two parts.
            return sse(
                chunk({"role": "assistant", "content": "Let me check. "}),
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "s1",
                                "type": "function",
                                "function": {"name": "find_order", "arguments": ""},
                            }
                        ]
                    }
                ),
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"orderNum'}}]}),
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ber": "A-1001"}'}}]}),
                chunk({}, finish="tool_calls"),
                "data: [DONE]\n\n",
            )
        status = results[0]["order"]["status"]
        return sse(
            chunk({"content": "It is "}),
            chunk({"content": status}),
            chunk({}, "stop"),
            "data: [DONE]\n\n",
        )
    if not results:
        calls = {
            "tools": [
                tool_call("a1", "find_order", '{"orderNumber": "A-1001"}'),
                tool_call("a2", "opening_hours", "{}"),
            ],
            "malformed": [tool_call("m1", "find_order", "{not json")],
            "failing": [tool_call("f1", "broken_tool", "{}")],
            "noid": [{"type": "function", "function": {"name": "find_order"}}],
        }[scenario]
        return answer_with({"content": None, "tool_calls": calls})
    return answer_with({"content": "Results: " + json.dumps(results)})


def lilli_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [unwrap(m["content"]) for m in body["messages"] if m["role"] == "tool"]


async def lilli_chat(request: Request) -> Response:
    scenario = "lilli-" + request.path_params["scenario"]
    body = json.loads(await request.body())
    REQUESTS[scenario].append(body)
    results = lilli_results(body)
    if scenario == "lilli-loops":
        n = len(REQUESTS[scenario])
        return JSONResponse(
            {"toolCalls": [{"id": f"l{n}", "name": "opening_hours", "arguments": {}}]}
        )
    if body["stream"]:
        if not results:
            calls = {
                "toolCalls": [
                    {"id": "ls1", "name": "find_order", "arguments": {"orderNumber": "A-1001"}}
                ]
            }
            return sse(
                'data: {"delta": "One moment. "}\n\n',
                f"event: tool_calls\ndata: {json.dumps(calls)}\n\n",
                "data: [DONE]\n\n",
            )
        status = results[0]["order"]["status"]
        return sse(f"data: {json.dumps({'delta': 'It is ' + status})}\n\n", "data: [DONE]\n\n")
    if not results:
        return JSONResponse(
            {
                "toolCalls": [
                    {"id": "l1", "name": "find_order", "arguments": '{"orderNumber": "A-1001"}'},
                    {"id": "l2", "name": "find_order", "arguments": "{broken"},
                ]
            }
        )
    return JSONResponse({"reply": "Results: " + json.dumps(results)})


APP = Starlette(
    routes=[
        Route("/{scenario}/chat/completions", completions, methods=["POST"]),
        Route("/{scenario}/v1/chat", lilli_chat, methods=["POST"]),
    ]
)


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    config = uvicorn.Config(
        APP, host="127.0.0.1", port=0, log_level="warning", log_config=None, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


@pytest.fixture(autouse=True)
def fresh() -> None:
    REQUESTS.clear()


class ScriptedTools:
    """A tool box whose tools answer from a script, recording the calls it got."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, str | None]] = []

    @property
    def specs(self) -> list[ToolSpec]:
        return [
            ToolSpec(
                "find_order",
                "Find an order.",
                {"type": "object", "properties": {"orderNumber": {"type": "string"}}},
            ),
            ToolSpec("opening_hours", "Opening hours.", {"type": "object", "properties": {}}),
        ]

    async def call(self, name: str, arguments: Any, *, call_id: str | None = None) -> ToolReply:
        self.calls.append((name, arguments, call_id))
        if name == "find_order":
            try:
                parsed = json.loads(arguments)
            except ValueError:
                error = {"code": "invalid_arguments", "message": "The arguments are not JSON."}
                return ToolReply(name, False, error=error)
            order = {"number": parsed["orderNumber"], "status": "out_for_delivery"}
            return ToolReply(name, True, result={"found": True, "order": order})
        if name == "opening_hours":
            return ToolReply(name, True, result={"known": True, "open": True})
        error = {"code": "unknown_tool", "message": "There is no tool of that name."}
        return ToolReply(name, False, error=error)


async def no_order(number: str) -> None:
    return None


def shop(tools: Any) -> ShopContext:
    return ShopContext(
        shop_id="s",
        shop_name="Bloom & Co",
        timezone="Europe/Amsterdam",
        country="NL",
        config=AgentConfig(),
        customer_first_name=None,
        last_order=None,
        find_order=no_order,
        tools=tools,
    )


def provider(base: str, scenario: str, **options: Any) -> OpenAIProvider:
    return OpenAIProvider(
        base_url=f"{base}/{scenario}",
        api_key=None,
        model="m",
        timeout_s=5.0,
        now=lambda: NOW,
        **options,
    )


HISTORY = [ChatTurn("user", "Where is order A-1001, and are you open?")]


async def test_tools_are_offered_called_and_their_results_returned(server_url):
    tools = ScriptedTools()
    openai = provider(server_url, "tools")
    try:
        reply = await openai.complete(HISTORY, shop(tools))
    finally:
        await openai.aclose()
    assert [(name, call_id) for name, _args, call_id in tools.calls] == [
        ("find_order", "a1"),
        ("opening_hours", "a2"),
    ]
    first, second = REQUESTS["tools"]
    assert [t["function"]["name"] for t in first["tools"]] == ["find_order", "opening_hours"]
    assert first["tool_choice"] == "auto"
    assistant, result_a, result_b = second["messages"][-3:]
    assert assistant["role"] == "assistant" and len(assistant["tool_calls"]) == 2
    assert (result_a["role"], result_a["tool_call_id"]) == ("tool", "a1")
    assert json.loads(result_b["content"]) == {"ok": True, "result": {"known": True, "open": True}}
    assert "out_for_delivery" in reply and "Use the tools" in first["messages"][0]["content"]


async def test_malformed_arguments_go_back_to_the_model_as_a_tool_error(server_url):
    openai = provider(server_url, "malformed")
    try:
        reply = await openai.complete(HISTORY, shop(ScriptedTools()))
    finally:
        await openai.aclose()
    assert "invalid_arguments" in reply


async def test_a_failing_tool_is_an_error_result_not_a_failed_turn(server_url):
    openai = provider(server_url, "failing")
    try:
        reply = await openai.complete(HISTORY, shop(ScriptedTools()))
    finally:
        await openai.aclose()
    assert "unknown_tool" in reply


async def test_a_model_that_loops_is_stopped_after_the_rounds_allowed(server_url):
    tools = ScriptedTools()
    openai = provider(server_url, "loops", tool_rounds=3)
    try:
        with pytest.raises(ProviderError, match="rounds"):
            await openai.complete(HISTORY, shop(tools))
    finally:
        await openai.aclose()
    assert len(tools.calls) == 3
    assert [r["tool_choice"] for r in REQUESTS["loops"]] == ["auto", "auto", "auto", "none"]


async def test_the_time_budget_bounds_the_rounds_too(server_url):
    tools = ScriptedTools()
    openai = provider(server_url, "loops", tool_rounds=10, tool_budget_s=0.000001)
    try:
        with pytest.raises(ProviderError):
            await openai.complete(HISTORY, shop(tools))
    finally:
        await openai.aclose()
    assert tools.calls == []
    assert REQUESTS["loops"][0]["tool_choice"] == "none"


async def test_a_tool_call_without_an_id_is_a_provider_error(server_url):
    openai = provider(server_url, "noid")
    try:
        with pytest.raises(ProviderError, match="id"):
            await openai.complete(HISTORY, shop(ScriptedTools()))
    finally:
        await openai.aclose()


async def test_without_tools_nothing_is_offered(server_url):
    openai = provider(server_url, "tools")
    try:
        with pytest.raises(ProviderError, match="rounds"):
            await openai.complete(HISTORY, shop(None))
    finally:
        await openai.aclose()
    assert "tools" not in REQUESTS["tools"][0]


async def test_streaming_gathers_tool_calls_in_pieces_and_streams_the_answer(server_url):
    tools = ScriptedTools()
    openai = provider(server_url, "stream")
    try:
        pieces = [piece async for piece in openai.stream(HISTORY, shop(tools))]
    finally:
        await openai.aclose()
    assert pieces == ["Let me check. ", "It is ", "out_for_delivery"]
    assert tools.calls == [("find_order", '{"orderNumber": "A-1001"}', "s1")]
    second = REQUESTS["stream"][1]
    assistant = second["messages"][-2]
    assert assistant["content"] == "Let me check. "
    assert assistant["tool_calls"][0]["function"]["arguments"] == '{"orderNumber": "A-1001"}'


# --- lilli: the same shape in its contract (docs/lilli-provider-contract.md) --------------------


def lilli(base: str, scenario: str, **options: Any) -> Any:
    from bloomer_ai.agent.providers import LilliProvider

    return LilliProvider(
        base_url=f"{base}/{scenario}", api_key="lk", timeout_s=5.0, now=lambda: NOW, **options
    )


async def test_lilli_offers_tools_runs_calls_and_sends_results_back(server_url):
    tools = ScriptedTools()
    provider_ = lilli(server_url, "tools")
    try:
        reply = await provider_.complete(HISTORY, shop(tools))
    finally:
        await provider_.aclose()
    first, second = REQUESTS["lilli-tools"]
    assert [t["name"] for t in first["tools"]] == ["find_order", "opening_hours"]
    assert first["toolChoice"] == "auto"
    assert set(first["tools"][0]) == {"name", "description", "parameters"}
    assistant, result_1, result_2 = second["messages"][-3:]
    assert assistant == {
        "role": "assistant",
        "content": "",
        "toolCalls": [
            {"id": "l1", "name": "find_order", "arguments": '{"orderNumber": "A-1001"}'},
            {"id": "l2", "name": "find_order", "arguments": "{broken"},
        ],
    }
    assert (result_1["role"], result_1["toolCallId"], result_1["name"]) == (
        "tool",
        "l1",
        "find_order",
    )
    assert json.loads(result_2["content"])["error"]["code"] == "invalid_arguments"
    assert json.loads(result_2["content"])["ok"] is False
    assert "out_for_delivery" in reply and "invalid_arguments" in reply


async def test_lilli_streams_around_a_round_of_tool_calls(server_url):
    tools = ScriptedTools()
    provider_ = lilli(server_url, "stream")
    try:
        pieces = [piece async for piece in provider_.stream(HISTORY, shop(tools))]
    finally:
        await provider_.aclose()
    assert pieces == ["One moment. ", "It is out_for_delivery"]
    assert tools.calls == [("find_order", '{"orderNumber": "A-1001"}', "ls1")]
    assert REQUESTS["lilli-stream"][1]["messages"][-2]["content"] == "One moment. "


async def test_lilli_that_loops_is_stopped(server_url):
    tools = ScriptedTools()
    provider_ = lilli(server_url, "loops", tool_rounds=2)
    try:
        with pytest.raises(ProviderError, match="rounds"):
            await provider_.complete(HISTORY, shop(tools))
    finally:
        await provider_.aclose()
    assert len(tools.calls) == 2
    assert [r["toolChoice"] for r in REQUESTS["lilli-loops"]] == ["auto", "auto", "none"]


# --- through the chat API, with the real shop tools ---------------------------------


async def test_a_chat_turn_calls_the_shop_tools_and_keeps_tool_turns(
    server_url, database_url, session_factory, db
):
    from httpx import ASGITransport, AsyncClient
    from sqlalchemy import select

    from bloomer_ai.config import AISettings
    from bloomer_ai.db.engine import DatabaseTarget
    from bloomer_ai.main import create_app
    from bloomer_ai.models import AgentMessage, ToolCall
    from conftest import make_settings
    from factories.core import create_order, create_shop
    from support.auth import issue_key, key_headers

    shop_row = await create_shop(db, lilli_enabled=True)
    await create_order(db, shop_row, number="A-1001", status="out_for_delivery")
    _, key = await issue_key(db, shop_row, ["agent:chat", "orders:read", "shop:read"])
    ai = AISettings(ai_provider="openai", openai_base_url=f"{server_url}/tools", _env_file=None)
    application = create_app(
        make_settings(database_url, ai=ai),
        database=DatabaseTarget(database_url, embedded=False),
        session_factory=session_factory,
    )
    async with application.router.lifespan_context(application):
        transport = ASGITransport(app=application)
        async with AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post(
                "/api/ai/agent", json={"message": "Where is A-1001?"}, headers=key_headers(key)
            )
    assert response.status_code == 200, response.text
    reply = response.json()
    assert "out_for_delivery" in reply["reply"]
    offered = [t["function"]["name"] for t in REQUESTS["tools"][0]["tools"]]
    # The caller's scopes, and what a chat always implies (a hand-off: support:events).
    assert offered == [
        "find_order",
        "opening_hours",
        "delivery_info",
        "search_products",
        "request_handoff",
    ]
    messages = (
        await db.scalars(
            select(AgentMessage)
            .where(AgentMessage.conversation_id == reply["conversationId"])
            .order_by(AgentMessage.id)
        )
    ).all()
    assert [m.role for m in messages] == ["user", "tool", "tool", "assistant"]
    assert messages[1].message_metadata == {"tool": "find_order", "toolCallId": "a1", "ok": True}
    calls = (
        await db.scalars(
            select(ToolCall).where(ToolCall.conversation_id == reply["conversationId"])
        )
    ).all()
    assert sorted(c.tool for c in calls) == ["find_order", "opening_hours"]
