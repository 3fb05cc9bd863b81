"""Routing rules over HTTP: CRUD, validation with paths, scopes, cross-shop 404s,
evaluation order, stop-on-match, explain, read-only evaluation, cache invalidation."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from bloomer_ai.config import FeatureSettings
from bloomer_ai.db.engine import DatabaseTarget
from bloomer_ai.main import create_app
from bloomer_ai.models import Base
from conftest import make_settings
from factories.core import add_member, create_customer, create_order, create_shop, create_user
from support.auth import issue_key, key_headers
from support.committed import committed_shop
from support.routing import BIG_ORDERS, EVALUATE, ORDER, RULES

NORTH_BOUQUETS = {
    "name": "North bouquets to team A",
    "priority": 10,
    "conditions": {
        "and": [
            {"==": [{"var": "deliveryZone"}, "north"]},
            {"some": [{"var": "items"}, {"==": [{"var": "productType"}, "bouquet"]}]},
        ]
    },
    "action": {"type": "assign", "target": {"kind": "team", "id": "team-a"}},
}


@pytest.fixture
async def shop_keys(db) -> dict[str, Any]:
    shop = await create_shop(db, timezone="Europe/Amsterdam")
    other = await create_shop(db)
    _, full = await issue_key(db, shop)
    _, reader = await issue_key(db, shop, ["routing:read"])
    _, evaluator = await issue_key(db, shop, ["routing:evaluate"])
    _, other_full = await issue_key(db, other)
    return {
        "shop": shop,
        "other": other,
        "full": key_headers(full),
        "reader": key_headers(reader),
        "evaluator": key_headers(evaluator),
        "other_full": key_headers(other_full),
    }


async def create_rule(client, headers, body) -> dict[str, Any]:
    response = await client.post(RULES, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


# --- CRUD --------------------------------------------------------------------------------


async def test_create_read_update_delete(client, shop_keys):
    headers = shop_keys["full"]
    rule = await create_rule(client, headers, NORTH_BOUQUETS)
    assert rule["name"] == NORTH_BOUQUETS["name"]
    assert rule["enabled"] is True and rule["stopOnMatch"] is False
    assert rule["conditions"] == NORTH_BOUQUETS["conditions"]

    fetched = await client.get(f"{RULES}/{rule['id']}", headers=shop_keys["reader"])
    assert fetched.json() == rule

    patched = await client.patch(
        f"{RULES}/{rule['id']}", json={"priority": 5, "stopOnMatch": True}, headers=headers
    )
    assert patched.status_code == 200
    assert patched.json()["priority"] == 5 and patched.json()["stopOnMatch"] is True
    assert patched.json()["conditions"] == rule["conditions"]  # untouched

    assert (await client.delete(f"{RULES}/{rule['id']}", headers=headers)).status_code == 204
    assert (await client.get(f"{RULES}/{rule['id']}", headers=headers)).status_code == 404


async def test_list_is_in_the_order_rules_run_in_cursor_pages(client, shop_keys):
    # Priority first (lower runs first), then creation: the order evaluation uses.
    priorities = [30, 10, 20, 10, 30]
    ids = [
        (
            await create_rule(
                client, shop_keys["full"], {**BIG_ORDERS, "name": f"r{i}", "priority": priority}
            )
        )["id"]
        for i, priority in enumerate(priorities)
    ]
    run_order = [ids[1], ids[3], ids[2], ids[0], ids[4]]
    seen, cursor, pages = [], None, 0
    while True:
        query = f"{RULES}?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(query, headers=shop_keys["reader"])).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == run_order
    assert pages == 3
    bad = await client.get(f"{RULES}?limit=101", headers=shop_keys["reader"])
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("conditions", "action", "fault_path"),
    [
        ({"eval": ["1+1"]}, NORTH_BOUQUETS["action"], "conditions.eval"),
        (
            {"==": [{"var": "customer.password"}, "x"]},
            NORTH_BOUQUETS["action"],
            "conditions.==[0].var",
        ),
        (
            {"and": [{"==": [1, 1]}, {"log": "x"}]},
            NORTH_BOUQUETS["action"],
            "conditions.and[1].log",
        ),
        (NORTH_BOUQUETS["conditions"], {"type": "teleport"}, "action.type"),
        (NORTH_BOUQUETS["conditions"], {"type": "assign"}, "action.target"),
        (NORTH_BOUQUETS["conditions"], {"type": "prioritize", "level": "asap"}, "action.level"),
    ],
)
async def test_bad_rules_are_422_with_the_path(client, shop_keys, conditions, action, fault_path):
    body = {"name": "bad", "conditions": conditions, "action": action}
    response = await client.post(RULES, json=body, headers=shop_keys["full"])
    assert response.status_code == 422, response.text
    paths = [detail["field"] for detail in response.json()["error"]["details"]]
    assert any(path.startswith(f"body.{fault_path}") for path in paths), paths


async def test_too_deep_rule_is_422(client, shop_keys):
    conditions: Any = {"==": [{"var": "total"}, 1]}
    for _ in range(20):
        conditions = {"!": [conditions]}
    body = {"name": "deep", "conditions": conditions, "action": BIG_ORDERS["action"]}
    response = await client.post(RULES, json=body, headers=shop_keys["full"])
    assert response.status_code == 422


async def test_patch_validates_and_refuses_null(client, shop_keys):
    rule = await create_rule(client, shop_keys["full"], BIG_ORDERS)
    response = await client.patch(
        f"{RULES}/{rule['id']}", json={"conditions": {"nope": [1]}}, headers=shop_keys["full"]
    )
    assert response.status_code == 422
    response = await client.patch(
        f"{RULES}/{rule['id']}", json={"name": None}, headers=shop_keys["full"]
    )
    assert response.status_code == 422
    response = await client.patch(
        f"{RULES}/{rule['id']}", json={"colour": "red"}, headers=shop_keys["full"]
    )
    assert response.status_code == 422


# --- auth, scopes, shops -----------------------------------------------------------------


async def test_scopes(client, shop_keys):
    assert (await client.get(RULES)).status_code == 401
    response = await client.post(RULES, json=BIG_ORDERS, headers=shop_keys["reader"])
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    response = await client.post(EVALUATE, json=ORDER, headers=shop_keys["reader"])
    assert response.status_code == 403
    response = await client.get(RULES, headers=shop_keys["evaluator"])
    assert response.status_code == 403
    response = await client.post(EVALUATE, json=ORDER, headers=shop_keys["evaluator"])
    assert response.status_code == 200


async def test_another_shops_rules_are_404(client, shop_keys):
    theirs = await create_rule(client, shop_keys["other_full"], BIG_ORDERS)
    path = f"{RULES}/{theirs['id']}"
    headers = shop_keys["full"]
    assert (await client.get(path, headers=headers)).status_code == 404
    assert (await client.patch(path, json={"priority": 1}, headers=headers)).status_code == 404
    assert (await client.delete(path, headers=headers)).status_code == 404
    listed = (await client.get(RULES, headers=headers)).json()
    assert theirs["id"] not in [item["id"] for item in listed["items"]]
    # Their rule is intact and never evaluated for us.
    assert (await client.get(path, headers=shop_keys["other_full"])).status_code == 200
    result = (await client.post(EVALUATE, json=ORDER, headers=headers)).json()
    assert result["matchedRuleIds"] == []


async def test_evaluating_another_shops_order_or_customer_is_404(client, shop_keys, db):
    order = await create_order(db, shop_keys["other"])
    customer = await create_customer(db, shop_keys["other"])
    response = await client.post(
        EVALUATE, json={"orderId": str(order.id)}, headers=shop_keys["full"]
    )
    assert response.status_code == 404
    response = await client.post(
        EVALUATE, json={**ORDER, "customerId": str(customer.id)}, headers=shop_keys["full"]
    )
    assert response.status_code == 404


async def test_session_user_can_manage_rules(client, db, shop_keys):
    from support.nextauth import mint

    user = await create_user(db)
    await add_member(db, shop_keys["shop"], user, "staff")
    (token,) = mint(
        [
            {
                "lib": "v5",
                "secret": "test-only-secret-0123456789abcdef0123456789abcdef",
                "salt": "authjs.session-token",
                "token": {"sub": str(user.id)},
            }
        ]
    )
    headers = {"Authorization": f"Bearer {token}"}
    rule = await create_rule(client, headers, BIG_ORDERS)
    assert (await client.get(f"{RULES}/{rule['id']}", headers=headers)).status_code == 200


async def test_feature_switched_off_is_404(database_url, session_factory, shop_keys):
    settings = make_settings(
        database_url, features=FeatureSettings(ai_routing_enabled=False, _env_file=None)
    )
    app = create_app(
        settings,
        database=DatabaseTarget(database_url, embedded=False),
        session_factory=session_factory,
    )
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client,
    ):
        response = await client.get(RULES, headers=shop_keys["full"])
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "feature_disabled"


# --- evaluation --------------------------------------------------------------------------


async def test_priority_order_matches_and_route(client, shop_keys):
    headers = shop_keys["full"]
    big = await create_rule(client, headers, BIG_ORDERS)
    north = await create_rule(client, headers, NORTH_BOUQUETS)
    result = (await client.post(EVALUATE, json=ORDER, headers=headers)).json()
    # Priority 10 (north) before 20 (big), whatever the creation order.
    assert result["matchedRuleIds"] == [north["id"], big["id"]]
    assert result["suggestedRoute"] == NORTH_BOUQUETS["action"]
    assert result["evaluatedRules"] == 2
    assert "explain" not in result or result["explain"] is None

    small_south = {"deliveryZone": "south", "items": [{"productType": "plant", "unitPrice": 500}]}
    result = (await client.post(EVALUATE, json=small_south, headers=headers)).json()
    assert result == {
        "suggestedRoute": None,
        "matchedRuleIds": [],
        "evaluatedRules": 2,
        "explain": None,
    }


async def test_ties_by_creation_time_and_stop_on_match(client, shop_keys):
    headers = shop_keys["full"]
    first = await create_rule(client, headers, {**BIG_ORDERS, "name": "first", "priority": 1})
    second = await create_rule(
        client,
        headers,
        {
            **BIG_ORDERS,
            "name": "second",
            "priority": 1,
            "stopOnMatch": True,
            "action": {"type": "flag", "reason": "check"},
        },
    )
    third = await create_rule(client, headers, {**BIG_ORDERS, "name": "third", "priority": 2})
    result = (await client.post(EVALUATE, json=ORDER, headers=headers)).json()
    assert result["matchedRuleIds"] == [first["id"], second["id"]]
    assert result["suggestedRoute"] == BIG_ORDERS["action"]
    assert result["evaluatedRules"] == 2
    await client.patch(f"{RULES}/{first['id']}", json={"enabled": False}, headers=headers)
    result = (await client.post(EVALUATE, json=ORDER, headers=headers)).json()
    assert result["matchedRuleIds"] == [second["id"]]
    assert result["suggestedRoute"] == {"type": "flag", "reason": "check"}
    assert third["id"] not in result["matchedRuleIds"]


async def test_explain_says_which_condition_decided(client, shop_keys):
    headers = shop_keys["full"]
    north = await create_rule(client, headers, NORTH_BOUQUETS)
    south_order = {**ORDER, "deliveryZone": "south"}
    result = (
        await client.post(f"{EVALUATE}?explain=true", json=south_order, headers=headers)
    ).json()
    (explanation,) = result["explain"]
    assert explanation["ruleId"] == north["id"]
    assert explanation["outcome"] == "not_matched"
    assert explanation["decidedBy"] == "conditions.and[0]"
    result = (await client.post(f"{EVALUATE}?explain=true", json=ORDER, headers=headers)).json()
    assert result["explain"][0]["outcome"] == "matched"


async def test_stored_order_with_customer_segment(client, shop_keys, db):
    headers = shop_keys["full"]
    shop = shop_keys["shop"]
    customer = await create_customer(db, shop)
    placed = datetime(2026, 11, 1, 9, tzinfo=UTC)
    for index in range(3):
        await create_order(
            db, shop, customer_id=customer.id, placed_at=placed - timedelta(days=10 + index)
        )
    order = await create_order(
        db,
        shop,
        customer_id=customer.id,
        placed_at=placed,
        delivery_zone="north",
        delivery_date=date(2026, 12, 24),  # a Thursday
        delivery_time="14:30",
        tags=["same-day"],
        items=[{"product_type": "wreath", "name": "Wreath", "unit_price_minor": 9000}],
    )
    rule = await create_rule(
        client,
        headers,
        {
            "name": "regular customers, Thursday afternoons, same day wreaths",
            "conditions": {
                "and": [
                    {"==": [{"var": "customer.segment"}, "regular"]},
                    {"==": [{"var": "customer.orderCount"}, 3]},
                    {"==": [{"var": "weekday"}, 4]},
                    {"==": [{"var": "hour"}, 14]},
                    {"in": ["same-day", {"var": "tags"}]},
                    {"some": [{"var": "items"}, {"==": [{"var": "productType"}, "wreath"]}]},
                ]
            },
            "action": {"type": "assign", "target": {"kind": "courier", "id": "bike-1"}},
        },
    )
    result = (await client.post(EVALUATE, json={"orderId": str(order.id)}, headers=headers)).json()
    assert result["matchedRuleIds"] == [rule["id"]]
    # The number people use finds the same order.
    by_number = await client.post(EVALUATE, json={"orderNumber": order.number}, headers=headers)
    assert by_number.status_code == 200, by_number.text
    assert by_number.json() == result
    response = await client.post(EVALUATE, json={"orderId": str(uuid.uuid4())}, headers=headers)
    assert response.status_code == 404
    response = await client.post(EVALUATE, json={"orderNumber": "no-such"}, headers=headers)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "order_not_found")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"items": []},
        {"orderId": "x", "items": []},
        {"orderId": "x", "orderNumber": "1149"},
        {"orderNumber": "1149", "total": 100},
        {"orderNumber": ""},
        {"items": [{"productType": "bouquet", "quantity": 0}]},
        {"items": [], "deliveryTime": "25:00"},
        {"items": [], "deliveryDate": "tomorrow"},
        {"items": [], "unknown": 1},
    ],
)
async def test_bad_evaluation_requests_are_422(client, shop_keys, body):
    response = await client.post(EVALUATE, json=body, headers=shop_keys["full"])
    assert response.status_code == 422


async def test_an_empty_order_is_refused_with_what_to_send(client, shop_keys):
    response = await client.post(EVALUATE, json={"items": []}, headers=shop_keys["full"])
    assert response.status_code == 422
    message = response.json()["error"]["details"][0]["message"]
    assert "orderId, orderNumber, or an order with at least one item or a total" in message
    # A total alone is an order the rules can read.
    response = await client.post(EVALUATE, json={"total": 5000}, headers=shop_keys["full"])
    assert response.status_code == 200, response.text


async def _database_fingerprint(db) -> str:
    digest = hashlib.sha256()
    for table in sorted(Base.metadata.tables):
        rows = await db.execute(
            text(f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t")
        )
        digest.update(f"{table}:{rows.scalar()}".encode())
    return digest.hexdigest()


async def test_evaluation_writes_nothing(client, shop_keys, db):
    headers = shop_keys["full"]
    await create_rule(client, headers, NORTH_BOUQUETS)
    await create_rule(client, headers, BIG_ORDERS)
    customer = await create_customer(db, shop_keys["shop"])
    order = await create_order(db, shop_keys["shop"], customer_id=customer.id)
    # Warm up: the key's last-used time is bookkeeping of authentication, written once.
    await client.post(EVALUATE, json=ORDER, headers=headers)
    before = await _database_fingerprint(db)
    for body in (ORDER, {"orderId": str(order.id)}, {**ORDER, "customerId": str(customer.id)}):
        for path in (EVALUATE, f"{EVALUATE}?explain=true"):
            assert (await client.post(path, json=body, headers=headers)).status_code == 200
    assert await _database_fingerprint(db) == before


async def test_a_rule_change_reaches_every_process(database_url, session_factory, shop_keys):
    """Two app instances (two processes' caches) on one database."""
    headers = shop_keys["full"]
    apps = []
    for _ in range(2):
        app = create_app(
            make_settings(database_url),
            database=DatabaseTarget(database_url, False),
            session_factory=session_factory,
        )
        apps.append(app)
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        first = AsyncClient(transport=ASGITransport(app=apps[0]), base_url="http://a")
        second = AsyncClient(transport=ASGITransport(app=apps[1]), base_url="http://b")
        async with first, second:
            rule = await create_rule(first, headers, BIG_ORDERS)
            assert (await second.post(EVALUATE, json=ORDER, headers=headers)).json()[
                "matchedRuleIds"
            ] == [rule["id"]]
            await first.patch(
                f"{RULES}/{rule['id']}",
                json={"conditions": {">=": [{"var": "total"}, 99999]}},
                headers=headers,
            )
            result = (await second.post(EVALUATE, json=ORDER, headers=headers)).json()
            assert result["matchedRuleIds"] == []
            await first.delete(f"{RULES}/{rule['id']}", headers=headers)
            result = (await second.post(EVALUATE, json=ORDER, headers=headers)).json()
            assert result["evaluatedRules"] == 0


async def test_evaluation_on_a_pooled_connection(database_target, engine):
    """Outside the test transaction: the app's own pool (the app role), committed rows.

    The connection goes back to the pool in transactional mode for the next request.
    """
    async with committed_shop(engine, name="Pooled") as (_shop, secret):
        app = create_app(make_settings(database_target.operator_url), database=database_target)
        async with (
            app.router.lifespan_context(app),
            AsyncClient(transport=ASGITransport(app=app), base_url="http://p") as c,
        ):
            headers = key_headers(secret)
            rule = await create_rule(c, headers, BIG_ORDERS)
            for _ in range(3):
                result = (await c.post(EVALUATE, json=ORDER, headers=headers)).json()
                assert result["matchedRuleIds"] == [rule["id"]]
            response = await c.post(RULES, json={**BIG_ORDERS, "name": "x"}, headers=headers)
            assert response.status_code == 201
            async with app.state.session_factory() as session:
                connection = await session.connection()
                raw = await connection.get_raw_connection()
                assert raw.driver_connection.autocommit is False
                await session.rollback()
