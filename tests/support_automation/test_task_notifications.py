"""support.task.created / support.task.updated: recorded through record_event in the
task's own transaction, with their delivery jobs deferred (delivery and retries are the
outbound webhooks' own tests)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, text

from bloomer_ai.models import SupportTask, WebhookEvent
from factories.core import create_customer, create_shop
from factories.integrations import DEFAULT_SECRETS, create_integration
from support import signing
from support.auth import issue_key, key_headers

SECRET = DEFAULT_SECRETS["lilli"]["webhookSecret"]


def handoff(**data: Any) -> dict[str, Any]:
    return {
        "type": "handoff.requested",
        "channel": "chat",
        "conversationId": "c-9",
        "customer": {"phone": "+31612345678", "email": "anna@example.test"},
        "data": data,
    }


async def events_of(db, shop: Any) -> list[WebhookEvent]:
    statement = (
        select(WebhookEvent)
        .where(WebhookEvent.shop_id == shop.id, WebhookEvent.type.startswith("support."))
        .order_by(WebhookEvent.created_at, WebhookEvent.id)
    )
    return list((await db.scalars(statement)).all())


async def test_tasks_are_announced_in_their_transaction(client, db) -> None:
    shop = await create_shop(db, country="NL")
    await create_customer(db, shop, name="Anna Jansen", phone="+31612345678")
    lilli = await create_integration(db, shop, "lilli", kind="support")
    _, key = await issue_key(db, shop)
    url = f"/api/ai/support/webhook/{lilli.id}"

    body, headers = signing.standard(SECRET, handoff(reason="wants a person"))
    answer = await client.post(url, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    (task_id,) = answer.json()["taskIds"]
    (created,) = await events_of(db, shop)
    assert created.type == "support.task.created"
    assert created.payload["id"] == task_id and created.payload["status"] == "open"
    assert "Jansen" not in json.dumps(created.payload)
    assert "612345678" not in json.dumps(created.payload)
    jobs = await db.execute(
        text("SELECT count(*) FROM procrastinate_jobs WHERE args->>'event_id' = :id"),
        {"id": str(created.id)},
    )
    assert jobs.scalar_one() >= 1  # at least the web app's platform delivery

    patched = await client.patch(
        f"/api/ai/support/tasks/{task_id}", json={"status": "done"}, headers=key_headers(key)
    )
    assert patched.status_code == 200
    events = await events_of(db, shop)
    assert [e.type for e in events] == ["support.task.created", "support.task.updated"]
    assert events[1].payload["status"] == "done"

    # A delivery that fails validation rolls everything back: no task, no event.
    body, headers = signing.standard(SECRET, {**handoff(), "channel": "fax"})
    assert (await client.post(url, content=body, headers=headers)).status_code == 422
    assert len(await events_of(db, shop)) == 2
    tasks = await db.scalars(select(SupportTask).where(SupportTask.shop_id == shop.id))
    assert len(tasks.all()) == 1
