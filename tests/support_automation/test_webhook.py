"""Support webhooks end to end: signed by standardwebhooks and by Chatwoot's and Zendesk's
documented recipes (support/signing.py), through each provider's integration; events
stored with personal data reduced, the customer matched, the default rules creating tasks
in the same transaction, repeats and bad signatures changing nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from bloomer_ai.models import SupportEvent, SupportTask, WebhookDelivery
from factories.core import create_customer, create_shop
from factories.integrations import DEFAULT_SECRETS, create_integration
from factories.support import create_support_rule
from support import signing

LILLI = DEFAULT_SECRETS["lilli"]["webhookSecret"]
CHATWOOT = DEFAULT_SECRETS["chatwoot"]["webhookSecret"]
ZENDESK = DEFAULT_SECRETS["zendesk"]["webhookSecret"]


def url(integration: Any) -> str:
    return f"/api/ai/support/webhook/{integration.id}"


def lilli_event(kind: str = "handoff.requested", **extra: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "channel": "whatsapp",
        "conversationId": "conv-42",
        "customer": {"phone": "06 1234 5678", "email": "Anna@Example.test"},
        "data": {"reason": "wants a person", "summary": "Order 1042 is late"},
        **extra,
    }


async def count(db, model: Any, shop: Any) -> int:
    return int(
        await db.scalar(select(func.count()).select_from(model).where(model.shop_id == shop.id))
    )


@pytest.fixture
async def world(db) -> dict[str, Any]:
    shop = await create_shop(db, country="NL")
    other = await create_shop(db, country="NL")
    anna = await create_customer(
        db, shop, name="Anna de Vries", phone="+31612345678", email="anna@example.test"
    )
    lilli = await create_integration(db, shop, "lilli", kind="support")
    return {"shop": shop, "other": other, "anna": anna, "lilli": lilli}


async def test_lilli_handoff_is_stored_with_a_task_from_the_defaults(client, db, world) -> None:
    body, headers = signing.standard(LILLI, lilli_event())
    answer = await client.post(url(world["lilli"]), content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    reply = answer.json()
    assert reply["received"] is True and len(reply["taskIds"]) == 1

    event = await db.scalar(select(SupportEvent).where(SupportEvent.shop_id == world["shop"].id))
    assert event is not None and str(event.id) == reply["eventId"]
    assert (event.type, event.channel, event.provider) == ("handoff.requested", "whatsapp", "lilli")
    assert event.external_conversation_id == "conv-42"
    assert event.delivery_id == headers["webhook-id"]
    assert event.customer_id == world["anna"].id  # matched by a national spelling of the phone
    stored = json.dumps(event.payload)
    for personal in ("1234", "anna", "Anna", "example.test", "Vries"):
        assert personal not in stored
    assert event.payload["reason"] == "wants a person"

    task = await db.scalar(select(SupportTask).where(SupportTask.shop_id == world["shop"].id))
    assert task is not None
    assert (task.title, task.status, task.priority) == (
        "Handoff requested (whatsapp)",
        "open",
        "normal",
    )
    assert (task.event_id, task.customer_id, task.rule_id) == (
        event.id,
        world["anna"].id,
        "default:handoff",
    )


async def test_a_repeat_gets_the_first_answer_and_changes_nothing(client, db, world) -> None:
    body, headers = signing.standard(LILLI, lilli_event())
    first = await client.post(url(world["lilli"]), content=body, headers=headers)
    again = await client.post(url(world["lilli"]), content=body, headers=headers)
    assert again.status_code == 200 and again.content == first.content
    assert await count(db, SupportEvent, world["shop"]) == 1
    assert await count(db, SupportTask, world["shop"]) == 1


async def test_a_bad_or_stale_signature_is_401_and_nothing_is_stored(client, db, world) -> None:
    body, headers = signing.standard(LILLI, lilli_event())
    tampered = body.replace(b"conv-42", b"conv-43")
    bad = await client.post(url(world["lilli"]), content=tampered, headers=headers)
    assert bad.status_code == 401

    stale = dict(headers, **{"webhook-timestamp": str(int(time.time()) - 600)})
    old = await client.post(url(world["lilli"]), content=body, headers=stale)
    assert old.status_code == 401

    wrong_secret_body, wrong = signing.standard(
        "whsec_" + "d3Jvbmctc2VjcmV0LWZvci10ZXN0cw==", lilli_event()
    )
    assert (
        await client.post(url(world["lilli"]), content=wrong_secret_body, headers=wrong)
    ).status_code == 401
    assert await count(db, SupportEvent, world["shop"]) == 0
    assert await count(db, WebhookDelivery, world["shop"]) == 0


async def test_an_unknown_type_is_stored_as_such(client, db, world) -> None:
    body, headers = signing.standard(LILLI, lilli_event("order.reminder.sent", data={"x": 1}))
    answer = await client.post(url(world["lilli"]), content=body, headers=headers)
    assert answer.status_code == 200 and answer.json()["taskIds"] == []
    event = await db.scalar(select(SupportEvent).where(SupportEvent.shop_id == world["shop"].id))
    assert event is not None and event.type == "order.reminder.sent"


async def test_a_known_type_of_the_wrong_shape_is_422_with_its_path(client, db, world) -> None:
    body, headers = signing.standard(LILLI, lilli_event("csat.submitted", data={"score": 9}))
    answer = await client.post(url(world["lilli"]), content=body, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "body.data.score"
    body, headers = signing.standard(LILLI, lilli_event(channel="pigeon"))
    answer = await client.post(url(world["lilli"]), content=body, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "body.channel"
    assert await count(db, SupportEvent, world["shop"]) == 0
    assert await count(db, WebhookDelivery, world["shop"]) == 0  # the retry is processed


@pytest.mark.parametrize(
    ("score", "tasks", "priority"), [(1, 1, "high"), (2, 1, "high"), (3, 0, None)]
)
async def test_csat_one_or_two_creates_a_high_priority_task(
    client, db, world, score, tasks, priority
) -> None:
    event = lilli_event(
        "csat.submitted", data={"score": score, "comment": "Flowers arrived wilted"}
    )
    body, headers = signing.standard(LILLI, event)
    answer = await client.post(url(world["lilli"]), content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["taskIds"]) == tasks
    if priority:
        task = await db.scalar(select(SupportTask).where(SupportTask.shop_id == world["shop"].id))
        assert (
            task is not None and task.priority == priority and task.title == f"Low CSAT ({score}/5)"
        )


async def test_a_shop_with_rules_of_its_own_runs_them_instead_of_the_defaults(
    client, db, world
) -> None:
    await create_support_rule(
        db,
        world["shop"],
        name="Refunds at night",
        conditions={
            "and": [
                {"in": ["refund", {"var": "summary"}]},
                {"==": [{"var": "customer.segment"}, "new"]},
            ]
        },
        actions=[
            {
                "type": "create_task",
                "title": "Refund asked on {channel}",
                "priority": "urgent",
                "assigneeRole": "admin",
                "dueInMinutes": 30,
            },
            {"type": "notify"},
        ],
    )
    handoff = lilli_event(data={"summary": "asks for a person"})
    body, headers = signing.standard(LILLI, handoff)
    assert (await client.post(url(world["lilli"]), content=body, headers=headers)).json()[
        "taskIds"
    ] == []

    refund = lilli_event("ticket.created", data={"subject": "Refund", "summary": "I want a REFUND"})
    body, headers = signing.standard(LILLI, refund)
    answer = await client.post(url(world["lilli"]), content=body, headers=headers)
    assert len(answer.json()["taskIds"]) == 1
    task = await db.scalar(select(SupportTask).where(SupportTask.shop_id == world["shop"].id))
    assert task is not None
    assert (task.title, task.priority, task.assignee_role) == (
        "Refund asked on whatsapp",
        "urgent",
        "admin",
    )
    assert task.due_at is not None


async def test_a_customer_of_another_shop_is_not_matched(client, db, world) -> None:
    await create_customer(db, world["other"], phone="+31687654321", email="bob@example.test")
    event = lilli_event(customer={"phone": "+31 6 8765 4321", "email": "bob@example.test"})
    body, headers = signing.standard(LILLI, event)
    assert (
        await client.post(url(world["lilli"]), content=body, headers=headers)
    ).status_code == 200
    stored = await db.scalar(select(SupportEvent).where(SupportEvent.shop_id == world["shop"].id))
    assert stored is not None and stored.customer_id is None


async def test_a_delivery_naming_another_shop_is_403_and_not_stored(client, db, world) -> None:
    body, headers = signing.standard(LILLI, lilli_event(shopId=str(world["other"].id)))
    assert (
        await client.post(url(world["lilli"]), content=body, headers=headers)
    ).status_code == 403
    assert await count(db, SupportEvent, world["shop"]) == 0
    assert await count(db, SupportEvent, world["other"]) == 0


def chatwoot_status(status: str, channel: str = "Channel::WebWidget") -> dict[str, Any]:
    return {
        "event": "conversation_status_changed",
        "id": 77,
        "status": status,
        "channel": channel,
        "meta": {
            "sender": {"name": "Anna de Vries", "phone_number": "+31612345678", "email": None}
        },
        "account": {"id": 3},
    }


@pytest.mark.parametrize(
    ("payload", "kind", "channel", "tasks"),
    [
        (chatwoot_status("open"), "handoff.requested", "chat", 1),
        (chatwoot_status("resolved", "Channel::Email"), "conversation.closed", "email", 0),
        (
            {
                "event": "message_created",
                "content": "My phone is +31612345678",
                "message_type": "incoming",
                "conversation": {
                    "id": 77,
                    "channel": "Channel::Whatsapp",
                    "meta": {"sender": {"phone_number": "+31612345678"}},
                },
            },
            "message.created",
            "whatsapp",
            0,
        ),
        (
            {
                "event": "conversation_created",
                "id": 78,
                "channel": "Channel::FacebookPage",
                "status": "pending",
            },
            "conversation.created",
            "social",
            0,
        ),
        (chatwoot_status("snoozed"), "chatwoot.conversation_status_changed", "chat", 0),
    ],
)
async def test_chatwoot_events_map_onto_ours(
    client, db, world, payload, kind, channel, tasks
) -> None:
    chatwoot = await create_integration(db, world["shop"], "chatwoot", kind="support")
    body, headers = signing.chatwoot(CHATWOOT, payload)
    answer = await client.post(url(chatwoot), content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["taskIds"]) == tasks
    event = await db.scalar(select(SupportEvent).where(SupportEvent.shop_id == world["shop"].id))
    assert event is not None
    assert (event.type, event.channel, event.provider) == (kind, channel, "chatwoot")
    assert event.delivery_id == headers["X-Chatwoot-Delivery"]
    assert event.customer_id == (world["anna"].id if "sender" in json.dumps(payload) else None)
    assert "+316" not in json.dumps(event.payload) and "Anna" not in json.dumps(event.payload)

    again = await client.post(url(chatwoot), content=body, headers=headers)
    assert again.content == answer.content
    assert await count(db, SupportEvent, world["shop"]) == 1

    headers["X-Chatwoot-Signature"] = "sha256=" + "0" * 64
    refused = await client.post(url(chatwoot), content=body, headers=headers)
    assert refused.status_code == 401


async def test_zendesk_events_map_onto_ours(client, db, world) -> None:
    zendesk = await create_integration(db, world["shop"], "zendesk", kind="support")
    payload = {
        "type": "zen:event-type:ticket.created",
        "account_id": 9001,
        "detail": {
            "id": "5150",
            "subject": "Where is my order?",
            "status": "NEW",
            "via": {"channel": "email"},
        },
    }
    body, headers = signing.zendesk(ZENDESK, payload)
    answer = await client.post(url(zendesk), content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["taskIds"]) == 1  # ticket.created: a task by default
    event = await db.scalar(select(SupportEvent).where(SupportEvent.shop_id == world["shop"].id))
    assert event is not None
    assert (event.type, event.channel, event.external_conversation_id) == (
        "ticket.created",
        "email",
        "5150",
    )
    assert event.delivery_id == headers["X-Zendesk-Webhook-Invocation-Id"]
    assert (
        await client.post(url(zendesk), content=body, headers=headers)
    ).content == answer.content

    stale = dict(headers, **{"X-Zendesk-Webhook-Signature-Timestamp": "2020-01-01T00:00:00Z"})
    assert (await client.post(url(zendesk), content=body, headers=stale)).status_code == 401

    # A trigger's body written in our contract.
    body, headers = signing.zendesk(ZENDESK, lilli_event("csat.submitted", data={"score": 1}))
    answer = await client.post(url(zendesk), content=body, headers=headers)
    assert answer.status_code == 200 and len(answer.json()["taskIds"]) == 1
