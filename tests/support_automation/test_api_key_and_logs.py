"""Support events sent with an API key (``support:events``) instead of a signature, on the
platform route; and no personal data in the logs of a webhook or a context read, in
either log format."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from bloomer_ai.logging import configure_logging
from bloomer_ai.models import SupportEvent, SupportTask
from factories.core import create_customer, create_shop
from factories.integrations import DEFAULT_SECRETS, create_integration
from support import signing
from support.auth import issue_key, key_headers

PLATFORM = "/api/ai/support/webhook"
PHONE = "+31612345678"
EMAIL = "anna.jansen@example.com"


def event(**extra: Any) -> dict[str, Any]:
    return {
        "type": "handoff.requested",
        "channel": "chat",
        "conversationId": "conv-7",
        "customer": {"phone": "06 1234 5678", "email": EMAIL},
        "data": {"reason": "wants a person"},
        **extra,
    }


@pytest.fixture
async def world(db) -> dict[str, Any]:
    shop = await create_shop(db, country="NL")
    other = await create_shop(db)
    anna = await create_customer(db, shop, name="Anna Jansen", phone=PHONE, email=EMAIL)
    _, events_key = await issue_key(db, shop, ["support:events"])
    _, context_key = await issue_key(db, shop, ["support:context"])
    return {
        "shop": shop,
        "other": other,
        "anna": anna,
        "events": key_headers(events_key),
        "context": key_headers(context_key),
    }


async def events_of(db, shop: Any) -> int:
    return int(
        await db.scalar(
            select(func.count()).select_from(SupportEvent).where(SupportEvent.shop_id == shop.id)
        )
    )


async def test_an_api_key_with_support_events_may_send_events(client, db, world) -> None:
    headers = {**world["events"], "webhook-id": f"evt_{uuid.uuid4().hex}"}
    answer = await client.post(PLATFORM, json=event(), headers=headers)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["taskIds"]) == 1
    stored = await db.scalar(select(SupportEvent).where(SupportEvent.shop_id == world["shop"].id))
    assert stored is not None and stored.customer_id == world["anna"].id
    assert stored.provider == "lilli" and stored.delivery_id == headers["webhook-id"]

    again = await client.post(PLATFORM, json=event(), headers=headers)
    assert again.content == answer.content
    assert await events_of(db, world["shop"]) == 1
    count = select(func.count()).select_from(SupportTask)
    assert await db.scalar(count.where(SupportTask.shop_id == world["shop"].id)) == 1


async def test_an_api_key_without_the_scope_or_naming_another_shop_is_refused(
    client, db, world
) -> None:
    wrong = await client.post(PLATFORM, json=event(), headers=world["context"])
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "insufficient_scope"
    other = await client.post(
        PLATFORM, json=event(shopId=str(world["other"].id)), headers=world["events"]
    )
    assert other.status_code == 403
    bad = await client.post(PLATFORM, json=event(), headers={"X-API-Key": "blm_nope_nope"})
    assert bad.status_code == 401 and "www-authenticate" in bad.headers
    assert await events_of(db, world["shop"]) == 0
    assert await events_of(db, world["other"]) == 0


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("json_output", [True, False])
async def test_no_personal_data_in_the_logs(client, db, world, json_output) -> None:
    stream = io.StringIO()
    configure_logging(level="DEBUG", json_output=json_output, stream=stream)
    lilli = await create_integration(db, world["shop"], "lilli", kind="support")
    body, headers = signing.standard(DEFAULT_SECRETS["lilli"]["webhookSecret"], event())
    signed = await client.post(f"/api/ai/support/webhook/{lilli.id}", content=body, headers=headers)
    assert signed.status_code == 200
    assert (await client.post(PLATFORM, json=event(), headers=world["events"])).status_code == 200
    for params in ({"phone": "06 1234 5678"}, {"email": EMAIL}):
        read = await client.get("/api/ai/support/context", params=params, headers=world["context"])
        assert read.status_code == 200
    output = stream.getvalue()
    assert "support_event_recorded" in output
    for personal in ("612345678", "1234 5678", "12345678", EMAIL, "anna.jansen", "Jansen"):
        assert personal not in output, personal
    if json_output:
        assert all(json.loads(line) for line in output.splitlines() if line.strip())
