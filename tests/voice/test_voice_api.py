"""The voice routes over HTTP: calls (filters, detail with events and transcript, erase),
events with their call's caller and direction, orders taken by phone (source voice,
Idempotency-Key, the call linked) and the order lists filtered by source; the transcript
purge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from bloomer_ai.db.session import unit_of_work
from bloomer_ai.jobs.tasks import PERIODIC
from bloomer_ai.main import task_modules
from bloomer_ai.models import Order, VoiceCall, VoiceCallEvent
from bloomer_ai.voice import retention  # noqa: F401  (declares the periodic task)
from bloomer_ai.voice.service import purge_expired_transcripts
from factories.core import add_member, create_customer, create_order, create_shop, create_user
from factories.voice import create_voice_call, create_voice_event
from support.auth import bearer, database_session, issue_key, key_headers
from support.voice_calls import CALLER, count

CALLS = "/api/ai/voice/calls"
EVENTS = "/api/ai/voice/events"
ORDERS = "/api/ai/voice/orders"


@pytest.fixture
async def world(db) -> dict[str, Any]:
    shop = await create_shop(db, country="NL")
    other = await create_shop(db, country="NL")
    anna = await create_customer(db, shop, name="Anna", phone=CALLER)
    _, secret = await issue_key(db, shop, ["voice:events", "voice:orders", "orders:read"])
    _, other_secret = await issue_key(db, other)
    ended = await create_voice_call(
        db,
        shop,
        status="ended",
        customer_id=anna.id,
        summary="Ordered red roses",
        transcript="AI: Hello. User: I would like roses.",
        duration_seconds=95,
    )
    ringing = await create_voice_call(
        db,
        shop,
        status="ringing",
        direction="outbound",
        from_number="+31201234567",
        to_number="+31687654321",
    )
    theirs = await create_voice_call(db, other)
    their_customer = await create_customer(db, other)
    for kind in ("call.started", "call.ended"):
        await create_voice_event(db, shop, ended, type=kind)
    await create_voice_event(db, shop, ringing, type="call.status")
    await create_voice_event(db, other, theirs, type="call.started")
    return {
        "shop": shop,
        "other": other,
        "anna": anna,
        "key": key_headers(secret),
        "other_key": key_headers(other_secret),
        "ended": ended,
        "ringing": ringing,
        "theirs": theirs,
        "their_customer": their_customer,
    }


async def test_calls_are_listed_newest_first_with_filters(client, world) -> None:
    key = world["key"]
    answer = await client.get(CALLS, headers=key)
    assert answer.status_code == 200, answer.text
    ids = [item["id"] for item in answer.json()["items"]]
    assert ids == [str(world["ringing"].id), str(world["ended"].id)]

    ended = (await client.get(CALLS, params={"status": "ended"}, headers=key)).json()["items"]
    assert [c["id"] for c in ended] == [str(world["ended"].id)]
    assert ended[0]["phoneNumber"] == CALLER and ended[0]["customerId"] == str(world["anna"].id)
    assert ended[0]["durationSeconds"] == 95 and "transcript" not in ended[0]
    outbound = (await client.get(CALLS, params={"direction": "outbound"}, headers=key)).json()
    assert [c["id"] for c in outbound["items"]] == [str(world["ringing"].id)]
    assert outbound["items"][0]["phoneNumber"] == "+31687654321"  # the number called
    mine = await client.get(CALLS, params={"customerId": str(world["anna"].id)}, headers=key)
    assert [c["id"] for c in mine.json()["items"]] == [str(world["ended"].id)]
    later = datetime.now(UTC) + timedelta(minutes=5)
    empty = await client.get(CALLS, params={"since": later.isoformat()}, headers=key)
    assert empty.json()["items"] == []

    bad = await client.get(CALLS, params={"status": "lost"}, headers=key)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "query.status"
    their_customer = str(world["their_customer"].id)
    theirs = await client.get(CALLS, params={"customerId": their_customer}, headers=key)
    assert theirs.status_code == 404


async def test_a_call_with_its_events_and_transcript(client, world) -> None:
    call = world["ended"]
    answer = await client.get(f"{CALLS}/{call.id}", headers=world["key"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["transcript"].startswith("AI: Hello") and body["summary"] == "Ordered red roses"
    assert [e["type"] for e in body["events"]] == ["call.started", "call.ended"]
    assert all(e["phoneNumber"] == CALLER and e["direction"] == "inbound" for e in body["events"])
    assert (
        await client.get(f"{CALLS}/{world['theirs'].id}", headers=world["key"])
    ).status_code == 404
    assert (await client.get(f"{CALLS}/not-an-id", headers=world["key"])).status_code == 404


async def test_events_carry_their_calls_phone_number_and_direction(client, world) -> None:
    key = world["key"]
    answer = await client.get(EVENTS, headers=key)
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert len(items) == 3  # not the other shop's
    newest = items[0]
    assert set(newest) >= {"id", "shopId", "phoneNumber", "direction", "payload", "createdAt"}
    assert (newest["type"], newest["direction"], newest["phoneNumber"]) == (
        "call.status",
        "outbound",
        "+31687654321",
    )
    by_call = await client.get(EVENTS, params={"callId": str(world["ended"].id)}, headers=key)
    assert {e["type"] for e in by_call.json()["items"]} == {"call.started", "call.ended"}
    by_type = await client.get(EVENTS, params={"type": "call.ended"}, headers=key)
    assert [e["callId"] for e in by_type.json()["items"]] == [str(world["ended"].id)]
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert (await client.get(EVENTS, params={"since": later}, headers=key)).json()["items"] == []
    theirs = await client.get(EVENTS, params={"callId": str(world["theirs"].id)}, headers=key)
    assert theirs.status_code == 404
    bad = await client.get(EVENTS, params={"callId": "x"}, headers=key)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "query.callId"


def order_body(**extra: Any) -> dict[str, Any]:
    return {
        "items": [
            {"productType": "bouquet", "name": "Red roses", "quantity": 2, "unitPrice": 2450}
        ],
        "customer": {"phone": "06 1234 5678", "name": "Anna"},
        "delivery": {"zone": "centrum", "date": "2026-12-24", "time": "10:30"},
        **extra,
    }


async def test_an_order_taken_by_phone(client, db, world) -> None:
    call = world["ringing"]
    headers = {**world["key"], "Idempotency-Key": "call-42-order"}
    body = order_body(callId=str(call.id))
    answer = await client.post(ORDERS, json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    order = answer.json()
    assert (order["source"], order["status"], order["needsConfirmation"]) == (
        "voice",
        "pending",
        True,
    )
    assert order["customerId"] == str(world["anna"].id)  # found by a national spelling
    assert order["total"] == 4900 and order["items"][0]["quantity"] == 2
    assert order["callId"] == str(call.id) and order["deliveryTime"] == "10:30"

    again = await client.post(ORDERS, json=body, headers=headers)
    assert again.status_code == 201 and again.json() == order
    assert again.headers["idempotent-replayed"] == "true"
    assert await count(db, Order, world["shop"]) == 1
    reused = await client.post(ORDERS, json=order_body(), headers=headers)
    assert reused.status_code == 409

    linked = await db.scalar(select(VoiceCall).where(VoiceCall.id == call.id))
    assert linked is not None and str(linked.order_id) == order["id"]

    for path in ("/api/ai/orders", "/api/orders"):
        listed = await client.get(path, params={"source": "voice"}, headers=world["key"])
        assert listed.status_code == 200, listed.text
        assert [o["id"] for o in listed.json()["items"]] == [order["id"]]


async def test_orders_by_phone_refuse_bad_input_and_other_shops_calls(client, world) -> None:
    key = world["key"]
    theirs = await client.post(ORDERS, json=order_body(callId=str(world["theirs"].id)), headers=key)
    assert theirs.status_code == 404
    not_a_phone = order_body(customer={"phone": "12"})
    bad = await client.post(ORDERS, json=not_a_phone, headers=key)
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "body.customer.phone"
    empty = await client.post(ORDERS, json=order_body(items=[]), headers=key)
    assert empty.status_code == 422 and empty.json()["error"]["details"][0]["field"] == "body.items"
    late = order_body(delivery={"time": "25:00"})
    assert (await client.post(ORDERS, json=late, headers=key)).status_code == 422


async def test_a_call_is_erased_with_its_events_but_its_order_stays(client, db, world) -> None:
    shop = world["shop"]
    order = await create_order(db, shop, source="voice")
    call = world["ended"]
    call.order_id = order.id
    await db.flush()
    staff, owner = await create_user(db), await create_user(db)
    await add_member(db, shop, staff, "staff")
    await add_member(db, shop, owner, "owner")
    as_staff = bearer(await database_session(db, staff.id))
    refused = await client.delete(f"{CALLS}/{call.id}", headers=as_staff)
    assert refused.status_code == 403
    as_owner = bearer(await database_session(db, owner.id))
    answer = await client.delete(f"{CALLS}/{call.id}", headers=as_owner)
    assert answer.status_code == 204
    assert (await client.get(f"{CALLS}/{call.id}", headers=world["key"])).status_code == 404
    left = await db.scalars(select(VoiceCallEvent).where(VoiceCallEvent.call_id == call.id))
    assert left.all() == []
    assert await db.scalar(select(Order.id).where(Order.id == order.id)) == order.id
    theirs = await client.delete(f"{CALLS}/{world['theirs'].id}", headers=world["key"])
    assert theirs.status_code == 404


async def test_transcripts_past_their_retention_are_purged_for_every_shop(
    db, world, session_factory
) -> None:
    old = world["ended"]
    theirs = world["theirs"]
    await db.execute(
        text(
            "UPDATE voice_calls SET transcript = 'words', created_at = now() - interval '40 days' "
            "WHERE id = ANY(:ids)"
        ),
        {"ids": [old.id, theirs.id]},
    )
    fresh = await create_voice_call(db, world["shop"], transcript="recent words")
    # The service's role, with no shop bound (as the periodic job runs).
    async with unit_of_work(session_factory) as session:
        by_hand = await session.execute(text("UPDATE voice_calls SET transcript = NULL"))
        assert by_hand.rowcount == 0  # row-level security shows it no shop's rows
        purged = await purge_expired_transcripts(session, retention=timedelta(days=30))
        again = await purge_expired_transcripts(session, retention=timedelta(days=30))
    assert (purged, again) == (2, 0)
    rows = {
        row.id: row
        for row in (
            await db.execute(
                select(VoiceCall.id, VoiceCall.transcript, VoiceCall.transcript_purged_at).where(
                    VoiceCall.id.in_([old.id, theirs.id, fresh.id])
                )
            )
        ).all()
    }
    assert rows[old.id].transcript is None and rows[old.id].transcript_purged_at is not None
    assert rows[theirs.id].transcript is None
    assert rows[fresh.id].transcript == "recent words"
    assert "voice.purge_transcripts" in PERIODIC
    assert "bloomer_ai.voice.retention" in task_modules()
