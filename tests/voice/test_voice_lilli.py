"""Lilli voice end to end, signed by the standardwebhooks library: call.started,
call.transcript, call.ended, tool.called (answered with the tool's outcome); our contract's
faults are 422 with their path; repeats answered the same; bad or stale signatures 401."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from bloomer_ai.models import VoiceCall, VoiceCallEvent, WebhookDelivery, WebhookEvent
from conftest import make_settings
from factories.core import create_customer, create_shop
from factories.integrations import create_integration
from support import signing
from support.voice_calls import (
    CALLER,
    LILLI_SECRET,
    PLATFORM_VOICE,
    SHOP_NUMBER,
    count,
    lilli,
    voice_url,
    voice_webhooks,
)


@pytest.fixture
def settings(database_url) -> Any:
    return make_settings(database_url, webhooks=voice_webhooks())


@pytest.fixture
async def world(db) -> dict[str, Any]:
    shop = await create_shop(db, country="NL")
    anna = await create_customer(db, shop, name="Anna", phone=CALLER)
    integration = await create_integration(db, shop, "lilli", phone_number=SHOP_NUMBER)
    return {"shop": shop, "anna": anna, "lilli": integration}


async def send(client, world, payload: dict[str, Any]) -> Any:
    body, headers = signing.standard(LILLI_SECRET, payload)
    return await client.post(voice_url(world["lilli"]), content=body, headers=headers)


async def test_a_call_from_start_to_end(client, db, world) -> None:
    call_id = f"lc_{uuid.uuid4().hex}"
    started = await send(
        client, world, lilli("call.started", call_id, startedAt="2026-12-07T10:00:00Z")
    )
    assert started.status_code == 200, started.text
    assert started.json()["received"] is True
    spoken = "Caller: this is Anna, anna@example.test, roses please"
    assert (
        await send(client, world, lilli("call.transcript", call_id, transcript=spoken))
    ).status_code == 200
    ended = await send(
        client,
        world,
        lilli(
            "call.ended",
            call_id,
            endedAt="2026-12-07T10:02:00Z",
            durationSeconds=120,
            endedReason="caller-hung-up",
            summary="Wants roses",
        ),
    )
    assert ended.status_code == 200
    call = await db.scalar(select(VoiceCall).where(VoiceCall.provider_call_id == call_id))
    assert call is not None and ended.json()["callId"] == str(call.id)
    assert (call.provider, call.status, call.duration_seconds, call.ended_reason) == (
        "lilli",
        "ended",
        120,
        "caller-hung-up",
    )
    assert call.transcript == spoken and call.summary == "Wants roses"
    assert call.customer_id == world["anna"].id
    events = (
        await db.scalars(
            select(VoiceCallEvent)
            .where(VoiceCallEvent.call_id == call.id)
            .order_by(VoiceCallEvent.id)
        )
    ).all()
    assert [e.type for e in events] == ["call.started", "call.transcript", "call.ended"]
    kept = json.dumps([e.payload for e in events])
    assert "anna" not in kept.lower() and "roses" not in kept and "5678" not in kept

    # Announced once, as an outbound webhook (delivered by jobs), without personal data.
    announced = (
        await db.scalars(
            select(WebhookEvent).where(
                WebhookEvent.shop_id == world["shop"].id, WebhookEvent.type == "voice.call.ended"
            )
        )
    ).all()
    assert [e.type for e in announced] == ["voice.call.ended"]
    data = announced[0].payload
    assert (data["id"], data["durationSeconds"], data["summaryGiven"]) == (str(call.id), 120, True)
    assert data["customerId"] == str(world["anna"].id)
    assert "5678" not in json.dumps(data) and "roses" not in json.dumps(data)
    again = await send(client, world, lilli("call.ended", call_id, durationSeconds=121))
    assert again.status_code == 200
    ended_events = select(WebhookEvent.id).where(WebhookEvent.type == "voice.call.ended")
    assert len((await db.scalars(ended_events)).all()) == 1


async def test_a_malformed_event_of_our_contract_is_422_with_its_path(client, db, world) -> None:
    answer = await send(client, world, lilli("call.ended", "lc_1", durationSeconds=-4))
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "body.data.durationSeconds"
    no_call = {"type": "call.started", "data": {}}
    answer = await send(client, world, no_call)
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "body.callId"
    assert await count(db, VoiceCall, world["shop"]) == 0


async def test_an_unknown_type_is_acknowledged_and_not_recorded(client, db, world) -> None:
    answer = await send(client, world, lilli("call.ringing.again", "lc_2"))
    assert answer.status_code == 200 and answer.json() == {"received": True}
    assert await count(db, VoiceCallEvent, world["shop"]) == 0


async def test_a_repeat_and_bad_signatures(client, db, world) -> None:
    body, headers = signing.standard(LILLI_SECRET, lilli("call.started", "lc_3"))
    url = voice_url(world["lilli"])
    first = await client.post(url, content=body, headers=headers)
    again = await client.post(url, content=body, headers=headers)
    assert again.content == first.content
    assert await count(db, VoiceCallEvent, world["shop"]) == 1

    tampered = body.replace(b"lc_3", b"lc_4")
    assert (await client.post(url, content=tampered, headers=headers)).status_code == 401
    stale = dict(headers, **{"webhook-timestamp": str(int(time.time()) - 900)})
    assert (await client.post(url, content=body, headers=stale)).status_code == 401
    assert await count(db, VoiceCall, world["shop"]) == 1


async def test_tool_called_is_answered_with_the_outcome(client, db, world) -> None:
    payload = lilli("tool.called", "lc_5", toolCallId="t1", name="no_such_tool", arguments={})
    answer = await send(client, world, payload)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["toolCallId"], body["name"], body["ok"]) == ("t1", "no_such_tool", False)
    assert set(body["error"]) == {"code", "message"}


async def test_the_platform_route_by_called_number_or_named_shop(client, db, world) -> None:
    body, headers = signing.standard(PLATFORM_VOICE, lilli("call.started", "lc_6"))
    assert (await client.post(voice_url(), content=body, headers=headers)).status_code == 200
    named = lilli(
        "call.started",
        "lc_7",
    )
    named.pop("calledNumber")
    named["shopId"] = str(world["shop"].id)
    body, headers = signing.standard(PLATFORM_VOICE, named)
    assert (await client.post(voice_url(), content=body, headers=headers)).status_code == 200
    assert await count(db, VoiceCall, world["shop"]) == 2
    unknown = lilli("call.started", "lc_8")
    unknown["calledNumber"] = "+31209999999"
    body, headers = signing.standard(PLATFORM_VOICE, unknown)
    answer = await client.post(voice_url(), content=body, headers=headers)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "shop_not_found"
    assert await count(db, WebhookDelivery, world["shop"]) == 2
