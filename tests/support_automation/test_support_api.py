"""The support routes over HTTP: the bot's context (field by field, what must not be
there), its read log, events, rules (validated by the routing engine, with paths) and
tasks; scopes, roles and other shops' ids."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bloomer_ai.models import SupportContextRead
from factories.core import add_member, create_customer, create_order, create_shop, create_user
from factories.support import create_support_event, create_support_rule, create_support_task
from support.auth import bearer, database_session, issue_key, key_headers

CONTEXT = "/api/ai/support/context"
HOURS = {
    "businessHours": {
        "timezone": "Europe/Amsterdam",
        "weekly": {
            day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        },
    }
}


@pytest.fixture
async def world(db) -> dict[str, Any]:
    shop = await create_shop(
        db, name="Bloemen Anna", country="NL", timezone="Europe/Amsterdam", lilli_config=HOURS
    )
    other = await create_shop(db, country="NL")
    anna = await create_customer(
        db, shop, name="Anna de Vries", phone="+31612345678", email="anna@example.test"
    )
    now = datetime.now(UTC)
    for days, status, number in (
        (9, "delivered", "5001"),
        (5, "cancelled", "5002"),
        (3, "confirmed", "5003"),
        (1, "pending", "5004"),
    ):
        await create_order(
            db,
            shop,
            customer_id=anna.id,
            status=status,
            number=number,
            placed_at=now - timedelta(days=days),
            delivery_date=date(2026, 12, 20),
            total_minor=12345,
            items=[
                {
                    "product_type": "bouquet",
                    "name": "Red roses",
                    "quantity": 2,
                    "unit_price_minor": 4000,
                },
                {"product_type": "card", "name": "Card", "quantity": 1, "unit_price_minor": 345},
            ],
        )
    stranger = await create_customer(
        db, other, name="Bob Stranger", phone="+31687654321", email="bob@example.test"
    )
    owner, staff = await create_user(db), await create_user(db)
    await add_member(db, shop, owner, "owner")
    await add_member(db, shop, staff, "staff")
    key_id, context_key = await issue_key(db, shop, ["support:context"])
    _, events_key = await issue_key(db, shop, ["support:events"])
    _, all_key = await issue_key(db, shop)
    return {
        "shop": shop,
        "other": other,
        "anna": anna,
        "stranger": stranger,
        "owner": owner,
        "staff": staff,
        "context_key_id": key_id,
        "context": key_headers(context_key),
        "events": key_headers(events_key),
        "all": key_headers(all_key),
        "owner_session": bearer(await database_session(db, owner.id)),
        "staff_session": bearer(await database_session(db, staff.id)),
    }


# --- the bot's context ------------------------------------------------------------------


@pytest.mark.parametrize("lookup", ["customerId", "phone", "email"])
async def test_context_holds_exactly_the_minimal_fields(client, world, lookup) -> None:
    value = {
        "customerId": str(world["anna"].id),
        "phone": "06-12 34 56 78",
        "email": "ANNA@example.test",
    }[lookup]
    answer = await client.get(CONTEXT, params={lookup: value}, headers=world["context"])
    assert answer.status_code == 200, answer.text
    context = answer.json()
    assert set(context) == {"shop", "customer", "recentOrders", "openOrderCount"}
    assert set(context["shop"]) == {"name", "openNow", "hoursToday", "timezone"}
    assert context["shop"]["name"] == "Bloemen Anna"
    assert context["shop"]["openNow"] is True
    assert context["shop"]["hoursToday"] == [{"opens": "00:00", "closes": "23:59"}]
    assert context["shop"]["timezone"] == "Europe/Amsterdam"
    assert context["customer"] == {"id": str(world["anna"].id), "firstName": "Anna"}
    assert [o["number"] for o in context["recentOrders"]] == ["5004", "5003", "5002"]
    for order in context["recentOrders"]:
        assert set(order) == {"number", "status", "deliveryDate", "itemsSummary"}
    assert context["recentOrders"][0] == {
        "number": "5004",
        "status": "pending",
        "deliveryDate": "2026-12-20",
        "itemsSummary": "2\u00d7 Red roses, 1\u00d7 Card",
    }
    assert context["openOrderCount"] == 2
    text = json.dumps(context)
    for forbidden in (
        "Vries",
        "+3161234",
        "612345678",
        "anna@",
        "example.test",
        "12345",
        "4000",
        "total",
        "address",
        "phone",
        "email",
    ):
        assert forbidden not in text, forbidden


@pytest.mark.parametrize(
    ("lookup", "value"),
    [("phone", "+31687654321"), ("email", "bob@example.test"), ("phone", "0612000000")],
)
async def test_no_match_here_is_customer_null_with_the_shop_facts(
    client, world, lookup, value
) -> None:
    answer = await client.get(CONTEXT, params={lookup: value}, headers=world["context"])
    assert answer.status_code == 200
    context = answer.json()
    assert (
        context["customer"] is None
        and context["recentOrders"] == []
        and context["openOrderCount"] == 0
    )
    assert context["shop"]["name"] == "Bloemen Anna"


async def test_another_shops_customer_id_is_404(client, world) -> None:
    answer = await client.get(
        CONTEXT, params={"customerId": str(world["stranger"].id)}, headers=world["context"]
    )
    assert answer.status_code == 404
    assert "Bob" not in answer.text


async def test_context_needs_exactly_one_key_and_the_scope(client, world) -> None:
    none = await client.get(CONTEXT, headers=world["context"])
    assert (
        none.status_code == 422
        and none.json()["error"]["details"][0]["field"] == "query.customerId"
    )
    two = await client.get(
        CONTEXT, params={"phone": "0612345678", "email": "a@b.test"}, headers=world["context"]
    )
    assert two.status_code == 422
    assert {d["field"] for d in two.json()["error"]["details"]} == {"query.phone", "query.email"}
    wrong_scope = await client.get(CONTEXT, params={"phone": "0612345678"}, headers=world["events"])
    assert (
        wrong_scope.status_code == 403
        and wrong_scope.json()["error"]["code"] == "insufficient_scope"
    )
    assert (await client.get(CONTEXT, params={"phone": "0612345678"})).status_code == 401


async def test_every_read_is_recorded_and_listed_for_managers(client, db, world) -> None:
    await client.get(CONTEXT, params={"phone": "0612345678"}, headers=world["context"])
    await client.get(CONTEXT, params={"email": "nobody@example.test"}, headers=world["context"])
    reads = (
        await db.scalars(
            select(SupportContextRead).where(SupportContextRead.shop_id == world["shop"].id)
        )
    ).all()
    assert len(reads) == 2
    listed = await client.get("/api/ai/support/context-reads", headers=world["owner_session"])
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [i["lookup"] for i in items] == ["email", "phone"]
    assert items[1]["customerId"] == str(world["anna"].id) and items[0]["customerId"] is None
    assert all(
        i["apiKeyId"] == str(world["context_key_id"]) and i["principalKind"] == "api_key"
        for i in items
    )
    assert set(items[0]) == {
        "id",
        "readAt",
        "principalKind",
        "apiKeyId",
        "userId",
        "lookup",
        "customerId",
    }
    assert "nobody" not in listed.text and "0612" not in listed.text
    staff = await client.get("/api/ai/support/context-reads", headers=world["staff_session"])
    assert staff.status_code == 403


# --- events -------------------------------------------------------------------------------


async def test_events_list_with_filters_and_pages(client, db, world) -> None:
    shop = world["shop"]
    first = await create_support_event(
        db, shop, type="conversation.created", channel="chat", external_conversation_id="c1"
    )
    second = await create_support_event(
        db,
        shop,
        type="handoff.requested",
        channel="sms",
        external_conversation_id="c1",
        customer_id=world["anna"].id,
    )
    await create_support_event(db, world["other"], type="handoff.requested")
    url = "/api/ai/support/events"
    everything = (await client.get(url, headers=world["events"])).json()
    assert [e["id"] for e in everything["items"]] == [str(second.id), str(first.id)]
    assert everything["items"][0]["shopId"] == str(shop.id)
    by_type = (
        await client.get(url, params={"type": "handoff.requested"}, headers=world["events"])
    ).json()
    assert [e["id"] for e in by_type["items"]] == [str(second.id)]
    by_customer = (
        await client.get(url, params={"customerId": str(world["anna"].id)}, headers=world["events"])
    ).json()
    assert [e["id"] for e in by_customer["items"]] == [str(second.id)]
    by_conversation = (
        await client.get(
            url, params={"conversationId": "c1", "channel": "chat"}, headers=world["events"]
        )
    ).json()
    assert [e["id"] for e in by_conversation["items"]] == [str(first.id)]
    page = (await client.get(url, params={"limit": 1}, headers=world["events"])).json()
    rest = (
        await client.get(
            url, params={"limit": 1, "cursor": page["nextCursor"]}, headers=world["events"]
        )
    ).json()
    assert [e["id"] for e in rest["items"]] == [str(first.id)] and rest["nextCursor"] is None
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (await client.get(url, params={"since": future}, headers=world["events"])).json()[
        "items"
    ] == []
    bad = await client.get(url, params={"customerId": "nope"}, headers=world["events"])
    assert (
        bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "query.customerId"
    )
    one = await client.get(f"{url}/{first.id}", headers=world["events"])
    assert one.status_code == 200 and one.json()["type"] == "conversation.created"


# --- rules --------------------------------------------------------------------------------

RULES = "/api/ai/support/rules"
VALID_RULE = {
    "name": "Angry VIPs",
    "priority": 5,
    "conditions": {
        "and": [{"<=": [{"var": "csatScore"}, 2]}, {"==": [{"var": "customer.segment"}, "vip"]}]
    },
    "actions": [
        {"type": "create_task", "title": "VIP unhappy ({csatScore}/5)", "priority": "urgent"},
        {"type": "notify"},
    ],
}


async def test_rules_crud_and_defaults(client, world) -> None:
    headers = world["all"]
    assert (await client.get(RULES, headers=headers)).json()["items"] == []
    defaults = (await client.get("/api/ai/support/default-rules", headers=headers)).json()
    assert [r["id"] for r in defaults] == ["default:handoff", "default:ticket", "default:low-csat"]
    created = await client.post(RULES, json=VALID_RULE, headers=headers)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["conditions"] == VALID_RULE["conditions"] and rule["builtIn"] is False
    patched = await client.patch(f"{RULES}/{rule['id']}", json={"enabled": False}, headers=headers)
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    assert (await client.get(f"{RULES}/{rule['id']}", headers=headers)).json()["enabled"] is False
    assert (await client.delete(f"{RULES}/{rule['id']}", headers=headers)).status_code == 204
    assert (await client.get(f"{RULES}/{rule['id']}", headers=headers)).status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"conditions": {"==": [{"var": "total"}, 1]}}, "body.conditions.==[0].var"),
        ({"conditions": {"log": 1}}, "body.conditions.log"),
        ({"actions": [{"type": "escalate"}]}, "body.actions[0].type"),
        (
            {"actions": [{"type": "create_task", "title": "Hi {firstName}"}]},
            "body.actions[0].title",
        ),
        (
            {"actions": [{"type": "create_task", "title": "x", "priority": "asap"}]},
            "body.actions[0].priority",
        ),
        ({"actions": [{"type": "notify"}]}, "body.actions"),
    ],
)
async def test_a_bad_rule_is_422_with_the_path(client, world, change, field) -> None:
    answer = await client.post(RULES, json={**VALID_RULE, **change}, headers=world["all"])
    assert answer.status_code == 422, answer.text
    assert field in {d["field"] for d in answer.json()["error"]["details"]}


async def test_rule_writes_need_a_manager_and_other_shops_rules_are_404(client, db, world) -> None:
    staff = await client.post(RULES, json=VALID_RULE, headers=world["staff_session"])
    assert staff.status_code == 403 and staff.json()["error"]["code"] == "insufficient_role"
    theirs = await create_support_rule(db, world["other"])
    for method in ("GET", "PATCH", "DELETE"):
        kwargs = {"json": {"name": "x"}} if method == "PATCH" else {}
        answer = await client.request(
            method, f"{RULES}/{theirs.id}", headers=world["all"], **kwargs
        )
        assert answer.status_code == 404, method


# --- tasks --------------------------------------------------------------------------------


async def test_tasks_list_get_and_patch(client, db, world) -> None:
    event = await create_support_event(db, world["shop"])
    task = await create_support_task(db, world["shop"], event=event)
    done = await create_support_task(db, world["shop"], status="done")
    theirs = await create_support_task(db, world["other"])
    headers = world["all"]
    listed = (await client.get("/api/ai/support/tasks", headers=headers)).json()
    assert [t["id"] for t in listed["items"]] == [str(done.id), str(task.id)]
    open_only = (
        await client.get("/api/ai/support/tasks", params={"status": "open"}, headers=headers)
    ).json()
    assert [t["id"] for t in open_only["items"]] == [str(task.id)]
    by_event = (
        await client.get(
            "/api/ai/support/tasks", params={"eventId": str(event.id)}, headers=headers
        )
    ).json()
    assert [t["id"] for t in by_event["items"]] == [str(task.id)]

    url = f"/api/ai/support/tasks/{task.id}"
    moved = await client.patch(
        url,
        json={"status": "in_progress", "assigneeUserId": str(world["staff"].id)},
        headers=headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "in_progress" and moved.json()["assigneeUserId"] == str(
        world["staff"].id
    )
    unassigned = await client.patch(
        url, json={"assigneeUserId": None}, headers=world["staff_session"]
    )
    assert unassigned.status_code == 200 and unassigned.json()["assigneeUserId"] is None
    stranger = await create_user(db)
    refused = await client.patch(url, json={"assigneeUserId": str(stranger.id)}, headers=headers)
    assert (
        refused.status_code == 422
        and refused.json()["error"]["details"][0]["field"] == "body.assigneeUserId"
    )
    bad = await client.patch(url, json={"status": "closed"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "body.status"
    empty = await client.patch(url, json={}, headers=headers)
    assert empty.status_code == 422
    assert (
        await client.get(f"/api/ai/support/tasks/{theirs.id}", headers=headers)
    ).status_code == 404
    assert (
        await client.patch(
            f"/api/ai/support/tasks/{theirs.id}", json={"status": "done"}, headers=headers
        )
    ).status_code == 404


async def test_support_switched_off_is_404_feature_disabled(
    database_url, database_target, session_factory, db
) -> None:
    from httpx import ASGITransport, AsyncClient

    from bloomer_ai.config import FeatureSettings
    from bloomer_ai.main import create_app
    from conftest import make_settings

    shop = await create_shop(db)
    _, key = await issue_key(db, shop)
    settings = make_settings(
        database_url, features=FeatureSettings(ai_support_enabled=False, _env_file=None)
    )
    app = create_app(settings, database=database_target, session_factory=session_factory)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as c,
    ):
        for path in (
            CONTEXT + "?phone=0612345678",
            "/api/ai/support/events",
            RULES,
            "/api/ai/support/tasks",
        ):
            answer = await c.get(path, headers=key_headers(key))
            assert (
                answer.status_code == 404 and answer.json()["error"]["code"] == "feature_disabled"
            )
        webhook = await c.post("/api/ai/support/webhook", content=b"{}")
        assert webhook.status_code == 404
