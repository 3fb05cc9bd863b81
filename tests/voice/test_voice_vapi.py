"""Vapi server messages end to end, authenticated by each form Vapi sends (the legacy
X-Vapi-Secret, a Bearer credential, an HMAC credential with its defaults) as its docs
describe them: assistant-request, status-update, end-of-call-report, tool-calls, other
types ignored; repeats answered the same; bad credentials 401 with nothing stored; an
unknown number a 404 body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from sqlalchemy import select

from bloomer_ai.models import VoiceCall, VoiceCallEvent, WebhookDelivery
from conftest import make_settings
from factories.core import create_customer, create_shop
from factories.integrations import create_integration
from support.auth import issue_key, key_headers
from support.voice_calls import (
    CALLER,
    PLATFORM_VAPI,
    SHOP_NUMBER,
    VAPI_SECRET,
    count,
    vapi,
    vapi_call,
    vapi_tool_calls,
    voice_url,
    voice_webhooks,
)


@pytest.fixture
def settings(database_url) -> Any:
    return make_settings(database_url, webhooks=voice_webhooks())


def legacy_secret(secret: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    return json.dumps(payload).encode(), {
        "Content-Type": "application/json",
        "X-Vapi-Secret": secret,
    }


def bearer_credential(secret: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    return json.dumps(payload).encode(), {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {secret}",
    }


def hmac_credential(secret: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """An HMAC credential with Vapi's defaults: x-signature = hex HMAC-SHA256 of
    "{x-timestamp}.{body}"."""
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return body, {
        "Content-Type": "application/json",
        "x-signature": digest.hexdigest(),
        "x-timestamp": timestamp,
    }


FORMS = [legacy_secret, bearer_credential, hmac_credential]


@pytest.fixture
async def world(db) -> dict[str, Any]:
    shop = await create_shop(db, country="NL")
    anna = await create_customer(db, shop, name="Anna", phone=CALLER)
    integration = await create_integration(
        db,
        shop,
        "vapi",
        phone_number=SHOP_NUMBER,
        settings={"vapiAssistantId": "asst_123", "greeting": "Hi from Bloom"},
    )
    return {"shop": shop, "anna": anna, "vapi": integration}


async def send(client, world, payload: dict[str, Any], sign=legacy_secret) -> Any:
    body, headers = sign(VAPI_SECRET, payload)
    return await client.post(voice_url(world["vapi"]), content=body, headers=headers)


@pytest.mark.parametrize("sign", FORMS)
async def test_each_authentication_form_is_accepted(client, db, world, sign) -> None:
    call = vapi_call()
    answer = await send(client, world, vapi("status-update", call, status="in-progress"), sign)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {}
    stored = await db.scalar(select(VoiceCall).where(VoiceCall.provider_call_id == call["id"]))
    assert stored is not None and stored.status == "in_progress"


@pytest.mark.parametrize("sign", FORMS)
async def test_a_wrong_credential_is_401_and_stores_nothing(client, db, world, sign) -> None:
    body, headers = sign("not-the-secret", vapi("status-update", vapi_call(), status="ringing"))
    answer = await client.post(voice_url(world["vapi"]), content=body, headers=headers)
    assert answer.status_code == 401
    assert await count(db, VoiceCall, world["shop"]) == 0
    assert await count(db, WebhookDelivery, world["shop"]) == 0


async def test_a_stale_hmac_timestamp_is_401(client, db, world) -> None:
    payload = vapi("status-update", vapi_call(), status="ringing")
    body = json.dumps(payload).encode()
    old = str(int(time.time()) - 3600)
    digest = hmac.new(VAPI_SECRET.encode(), f"{old}.".encode() + body, hashlib.sha256)
    headers = {
        "Content-Type": "application/json",
        "x-signature": digest.hexdigest(),
        "x-timestamp": old,
    }
    answer = await client.post(voice_url(world["vapi"]), content=body, headers=headers)
    assert answer.status_code == 401
    assert await count(db, VoiceCall, world["shop"]) == 0


async def test_assistant_request_answers_the_configured_assistant(client, db, world) -> None:
    answer = await send(client, world, vapi("assistant-request", vapi_call()))
    assert answer.status_code == 200
    body = answer.json()
    assert body["assistantId"] == "asst_123"
    assert body["assistantOverrides"]["metadata"] == {"shopId": str(world["shop"].id)}


async def test_assistant_request_without_an_assistant_is_an_inline_one(client, db) -> None:
    shop = await create_shop(db, country="NL")
    integration = await create_integration(db, shop, "vapi", settings={"greeting": "Hallo!"})
    body, headers = legacy_secret(VAPI_SECRET, vapi("assistant-request", vapi_call()))
    answer = await client.post(voice_url(integration), content=body, headers=headers)
    assert answer.json()["assistant"]["firstMessage"] == "Hallo!"


async def test_the_end_of_call_report_completes_the_call(client, db, world) -> None:
    call = vapi_call()
    await send(client, world, vapi("assistant-request", call))
    report = vapi(
        "end-of-call-report",
        call,
        endedReason="customer-ended-call",
        startedAt="2026-12-07T10:00:00.000Z",
        endedAt="2026-12-07T10:03:05.000Z",
        artifact={"transcript": "AI: Bloom, hello. User: Roses for Anna at anna@example.test"},
        analysis={"summary": "Asked about roses."},
    )
    answer = await send(client, world, report)
    assert answer.status_code == 200 and answer.json() == {}
    stored = await db.scalar(select(VoiceCall).where(VoiceCall.provider_call_id == call["id"]))
    assert stored is not None
    assert (stored.status, stored.ended_reason, stored.duration_seconds) == (
        "ended",
        "customer-ended-call",
        185,
    )
    assert stored.summary == "Asked about roses." and "Roses for Anna" in (stored.transcript or "")
    assert (stored.from_number, stored.to_number, stored.customer_id) == (
        CALLER,
        SHOP_NUMBER,
        world["anna"].id,
    )
    events = (
        await db.scalars(
            select(VoiceCallEvent)
            .where(VoiceCallEvent.call_id == stored.id)
            .order_by(VoiceCallEvent.id)
        )
    ).all()
    assert [e.type for e in events] == ["assistant.requested", "call.ended"]
    kept = json.dumps([e.payload for e in events])
    for personal in ("Anna", "anna@", "Roses", "5678", "roses"):
        assert personal not in kept
    assert events[1].payload["transcriptLength"] > 0


async def test_other_types_are_acknowledged_and_not_recorded(client, db, world) -> None:
    answer = await send(client, world, vapi("speech-update", vapi_call(), status="started"))
    assert answer.status_code == 200 and answer.json() == {}
    assert await count(db, VoiceCallEvent, world["shop"]) == 0


async def test_a_repeat_gets_the_same_answer_and_stores_nothing_new(client, db, world) -> None:
    payload = vapi("assistant-request", vapi_call())
    first = await send(client, world, payload)
    again = await send(client, world, payload)
    assert again.content == first.content
    assert await count(db, VoiceCallEvent, world["shop"]) == 1


async def test_tool_calls_are_answered_per_call_in_order(client, db, world) -> None:
    call = vapi_call()
    payload = vapi_tool_calls(call, ("no_such_tool", {"x": 1}), ("opening_hours", "{}"))
    answer = await send(client, world, payload)
    assert answer.status_code == 200
    results = answer.json()["results"]
    asked = payload["message"]["toolCallList"]
    assert [r["toolCallId"] for r in results] == [t["id"] for t in asked]
    assert [r["name"] for r in results] == ["no_such_tool", "opening_hours"]
    assert "error" in results[0] and isinstance(results[0]["error"], str)


async def test_the_platform_route_finds_the_shop_by_vapis_phone_number(client, db, world) -> None:
    body, headers = legacy_secret(
        PLATFORM_VAPI, vapi("status-update", vapi_call(), status="ringing")
    )
    answer = await client.post(voice_url(), content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert await count(db, VoiceCall, world["shop"]) == 1


async def test_an_unknown_number_is_a_404_body_and_nothing_is_stored(client, db) -> None:
    payload = vapi("status-update", vapi_call(), status="ringing")
    payload["message"]["phoneNumber"] = {"number": "+31209999999"}
    body, headers = legacy_secret(PLATFORM_VAPI, payload)
    answer = await client.post(voice_url(), content=body, headers=headers)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "shop_not_found"
    assert (await db.scalar(select(VoiceCall.id).limit(1))) is None


# --- an HMAC or Bearer credential described on the integration (settings.vapiAuth) -------------


def configured_hmac(plan: dict[str, Any], secret: str, payload: dict[str, Any], url: str):
    """Sign as Vapi does for an HMAC credential with this authenticationPlan (VAPI.md §1b)."""
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time() * 1000))  # Vapi does not document the unit: ms here
    message_id = "msg_2b1f"
    signed = (
        plan.get("payloadFormat", "{timestamp}.{body}")
        .replace("{timestamp}", timestamp)
        .replace("{method}", "POST")
        .replace("{url}", url)
        .replace("{svix-id}", message_id)
        .encode()
    )
    signed = signed.replace(b"{body}", body)
    key = base64.b64decode(secret) if plan.get("secretIsBase64") else secret.encode()
    digest = hmac.new(key, signed, getattr(hashlib, plan.get("algorithm", "sha256"))).digest()
    encoded = (
        digest.hex()
        if plan.get("signatureEncoding", "hex") == "hex"
        else (base64.b64encode(digest).decode())
    )
    return body, {
        "Content-Type": "application/json",
        plan.get("signatureHeader", "x-signature"): plan.get("signaturePrefix", "") + encoded,
        plan.get("timestampHeader", "x-timestamp"): timestamp,
        plan.get("messageIdHeader", "svix-id"): message_id,
    }


PLANS = [
    {"type": "hmac", "algorithm": "sha512", "signatureEncoding": "base64"},
    {
        "type": "hmac",
        "signatureHeader": "X-Vapi-Signature",
        "signaturePrefix": "sha256=",
        "payloadFormat": "{body}",
        "includeTimestamp": False,
    },
    {
        "type": "hmac",
        "algorithm": "sha1",
        "signatureHeader": "X-Hook-Sig",
        "timestampHeader": "X-Hook-Time",
        "payloadFormat": "{svix-id}.{method}.{url}.{timestamp}.{body}",
    },
]


@pytest.mark.parametrize("plan", PLANS)
async def test_an_hmac_credential_as_the_integration_describes_it(client, db, plan) -> None:
    shop = await create_shop(db, country="NL")
    integration = await create_integration(db, shop, "vapi", settings={"vapiAuth": plan})
    url = voice_url(integration)
    payload = vapi("status-update", vapi_call(), status="ringing")
    body, headers = configured_hmac(plan, VAPI_SECRET, payload, "http://testserver" + url)
    answer = await client.post(url, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    body, headers = configured_hmac(plan, "another-secret", payload, "http://testserver" + url)
    assert (await client.post(url, content=body, headers=headers)).status_code == 401
    assert await count(db, VoiceCall, shop) == 1


@pytest.mark.parametrize(
    ("header", "prefix"),
    [("X-Bloom-Token", False), ("X-Bloom-Token", True), ("Authorization", False)],
)
async def test_a_bearer_credential_with_its_own_header(client, db, header, prefix) -> None:
    shop = await create_shop(db, country="NL")
    plan = {"type": "bearer", "headerName": header, "bearerPrefixEnabled": prefix}
    integration = await create_integration(db, shop, "vapi", settings={"vapiAuth": plan})
    body = json.dumps(vapi("status-update", vapi_call(), status="ringing")).encode()
    value = f"Bearer {VAPI_SECRET}" if prefix else VAPI_SECRET
    ok = {"Content-Type": "application/json", header: value}
    assert (await client.post(voice_url(integration), content=body, headers=ok)).status_code == 200
    bad = {"Content-Type": "application/json", header: value.replace(VAPI_SECRET, "nope")}
    assert (await client.post(voice_url(integration), content=body, headers=bad)).status_code == 401


async def test_a_malformed_credential_plan_is_refused_with_its_path(client, db) -> None:
    shop = await create_shop(db, country="NL")
    _, secret = await issue_key(db, shop)
    answer = await client.post(
        "/api/ai/integrations",
        json={
            "provider": "vapi",
            "kind": "voice",
            "settings": {"vapiAuth": {"type": "hmac", "algorithm": "md5"}},
            "secrets": {"serverSecret": "s3cret-value"},
        },
        headers=key_headers(secret),
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "body.settings.vapiAuth.algorithm"
