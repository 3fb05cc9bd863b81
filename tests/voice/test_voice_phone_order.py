"""A whole phone order from each of Vapi and Lilli: the call comes in, the voice AI asks
for the opening hours, looks for the caller's order, places one; the call ends. What is
left: one call with its events, one customer (found or created by phone), one order with
``source: "voice"`` routed by the shop's rules, and the tool calls recorded on the call."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from bloomer_ai.models import Customer, Order, ToolCall, VoiceCall, VoiceCallEvent
from conftest import make_settings
from factories.core import create_shop
from factories.integrations import create_integration
from factories.routing import create_rule_row
from support import signing
from support.auth import issue_key, key_headers
from support.voice_calls import (
    CALLER,
    LILLI_SECRET,
    SHOP_NUMBER,
    VAPI_SECRET,
    lilli,
    vapi,
    vapi_call,
    vapi_tool_calls,
    voice_url,
    voice_webhooks,
)

HOURS = {
    "businessHours": {
        "timezone": "Europe/Amsterdam",
        "weekly": {
            day: [["08:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        },
    }
}
PLACE = {
    "items": [{"name": "Red roses", "quantity": 2}],
    "customerPhone": "06 1234 5678",
    "customerName": "Anna",
}


@pytest.fixture
def settings(database_url) -> Any:
    return make_settings(database_url, webhooks=voice_webhooks())


@pytest.fixture
async def shop(db) -> Any:
    shop = await create_shop(db, country="NL", timezone="Europe/Amsterdam", lilli_config=HOURS)
    await create_rule_row(
        db,
        shop,
        name="Phone orders to the desk",
        conditions={"==": [{"var": "source"}, "voice"]},
        action={"type": "assign", "target": {"kind": "team", "id": "phone-desk"}},
    )
    return shop


async def what_is_left(db, shop) -> dict[str, Any]:
    async def rows(model: Any) -> list[Any]:
        return list((await db.scalars(select(model).where(model.shop_id == shop.id))).all())

    return {
        "calls": await rows(VoiceCall),
        "events": await rows(VoiceCallEvent),
        "customers": await rows(Customer),
        "orders": await rows(Order),
        "tool_calls": await rows(ToolCall),
    }


def assert_one_routed_voice_order(
    left: dict[str, Any], expected_events: list[str], expected_tools: list[str]
) -> None:
    (call,) = left["calls"]
    (customer,) = left["customers"]
    (order,) = left["orders"]
    assert customer.phone == CALLER
    assert (order.source, order.customer_id, order.needs_confirmation) == (
        "voice",
        customer.id,
        True,
    )
    assert order.routing_suggestion["suggestedRoute"] is not None
    assert order.routing_suggestion["matchedRuleIds"]
    assert (call.order_id, call.customer_id, call.status) == (order.id, customer.id, "ended")
    events = sorted(left["events"], key=lambda e: e.id)
    assert [e.type for e in events] == expected_events
    assert all(e.call_id == call.id for e in events)
    tools = sorted(left["tool_calls"], key=lambda t: t.id)
    assert [t.tool for t in tools] == expected_tools
    assert all(t.ok and t.voice_call_id == call.id for t in tools)


async def test_a_whole_phone_order_through_vapi(client, db, shop) -> None:
    integration = await create_integration(
        db, shop, "vapi", phone_number=SHOP_NUMBER, settings={"vapiAssistantId": "asst_1"}
    )
    call = vapi_call()

    async def send(payload: dict[str, Any]) -> Any:
        body, headers = signing.vapi_secret(VAPI_SECRET, payload)
        answer = await client.post(voice_url(integration), content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    assert (await send(vapi("assistant-request", call)))["assistantId"] == "asst_1"
    await send(vapi("status-update", call, status="in-progress"))
    hours = await send(vapi_tool_calls(call, ("opening_hours", "{}")))
    (result,) = hours["results"]
    assert "error" not in result and json.loads(result["result"])
    found = await send(vapi_tool_calls(call, ("find_order", {"phone": CALLER})))
    assert json.loads(found["results"][0]["result"])["found"] is False
    placed_message = vapi_tool_calls(call, ("place_order", json.dumps(PLACE)))
    placed = await send(placed_message)
    order = json.loads(placed["results"][0]["result"])
    assert order["order"]["source"] == "voice"
    # Vapi retrying the same tool call (a new delivery) does not place a second order.
    retried = json.loads(json.dumps(placed_message))
    retried["message"]["timestamp"] += 1
    again = await send(retried)
    assert json.loads(again["results"][0]["result"])["orderId"] == order["orderId"]
    await send(
        vapi(
            "end-of-call-report",
            call,
            endedReason="customer-ended-call",
            artifact={"transcript": "AI: Bloom. User: two red roses please."},
            analysis={"summary": "Ordered two red roses."},
        )
    )

    left = await what_is_left(db, shop)
    assert_one_routed_voice_order(
        left,
        [
            "assistant.requested",
            "call.status",
            "tool.called",
            "tool.called",
            "tool.called",
            "tool.called",
            "call.ended",
        ],
        ["opening_hours", "find_order", "place_order", "place_order"],  # the retry replayed
    )


async def test_a_whole_phone_order_through_lilli(client, db, shop) -> None:
    integration = await create_integration(db, shop, "lilli", phone_number=SHOP_NUMBER)
    call_id = f"lc_{uuid.uuid4().hex}"

    async def send(payload: dict[str, Any]) -> Any:
        body, headers = signing.standard(LILLI_SECRET, payload)
        answer = await client.post(voice_url(integration), content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    await send(lilli("call.started", call_id))
    hours = await send(
        lilli("tool.called", call_id, toolCallId="t1", name="opening_hours", arguments={})
    )
    assert hours["ok"] is True and hours["result"]
    found = await send(
        lilli(
            "tool.called", call_id, toolCallId="t2", name="find_order", arguments={"phone": CALLER}
        )
    )
    assert found["ok"] is True and found["result"]["found"] is False
    placed = await send(
        lilli("tool.called", call_id, toolCallId="t3", name="place_order", arguments=PLACE)
    )
    assert placed["ok"] is True and placed["result"]["order"]["source"] == "voice"
    await send(lilli("call.transcript", call_id, transcript="two red roses please"))
    await send(lilli("call.ended", call_id, durationSeconds=75, summary="Two red roses."))

    left = await what_is_left(db, shop)
    assert_one_routed_voice_order(
        left,
        [
            "call.started",
            "tool.called",
            "tool.called",
            "tool.called",
            "call.transcript",
            "call.ended",
        ],
        ["opening_hours", "find_order", "place_order"],
    )

    # The shop erases the call: its events and tool call records go with it, the order stays.
    _, secret = await issue_key(db, shop, ["voice:events"])
    (call,) = left["calls"]
    erased = await client.delete(f"/api/ai/voice/calls/{call.id}", headers=key_headers(secret))
    assert erased.status_code == 204
    after = await what_is_left(db, shop)
    assert (after["calls"], after["events"], after["tool_calls"]) == ([], [], [])
    assert len(after["orders"]) == 1
