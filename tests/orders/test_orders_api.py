"""Orders over HTTP: newest first, each filter, pages, one order with its items, the web
app's /api/orders path, scopes and shops."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bloomer_ai.kit.ids import id_at
from factories.core import add_member, create_customer, create_order, create_shop, create_user
from support.auth import bearer, database_session, issue_key, key_headers

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.fixture
async def florist(db):
    shop, other = await create_shop(db), await create_shop(db)
    anna = await create_customer(db, shop, name="Anna de Vries")
    bram = await create_customer(db, shop, name="Bram Jansen")
    orders = []
    for index, (source, status, customer, delivery) in enumerate(
        [
            ("web", "delivered", anna, date(2026, 11, 20)),
            ("voice", "confirmed", bram, date(2026, 12, 2)),
            ("voice", "pending", anna, date(2026, 12, 5)),
            ("phone", "cancelled", None, None),
        ]
    ):
        placed = NOW - timedelta(days=10 - index)
        orders.append(
            await create_order(
                db,
                shop,
                id=id_at(placed),
                number=f"{2000 + index}",
                source=source,
                status=status,
                customer_id=customer.id if customer else None,
                delivery_date=delivery,
                placed_at=placed,
                created_at=placed,
                items=[
                    {"product_type": "bouquet", "name": "Roses", "unit_price_minor": 2950},
                    {"product_type": "gift", "name": "Chocolates", "unit_price_minor": 895},
                ],
            )
        )
    theirs = await create_order(db, other, number="2000", source="voice")
    _, key = await issue_key(db, shop, ["orders:read"])
    _, no_scope = await issue_key(db, shop, ["routing:read"])
    owner = await create_user(db)
    await add_member(db, shop, owner)
    return {
        "shop": shop,
        "anna": anna,
        "orders": orders,
        "theirs": theirs,
        "key": key_headers(key),
        "no_scope": key_headers(no_scope),
        "session": bearer(await database_session(db, owner.id)),
    }


async def numbers(client, florist, query: str = "", path: str = "/api/ai/orders") -> list[str]:
    response = await client.get(f"{path}{query}", headers=florist["key"])
    assert response.status_code == 200, response.text
    return [order["number"] for order in response.json()["items"]]


async def test_orders_are_listed_newest_first_for_key_and_session(client, florist):
    assert await numbers(client, florist) == ["2003", "2002", "2001", "2000"]
    response = await client.get("/api/ai/orders", headers=florist["session"])
    assert [o["number"] for o in response.json()["items"]] == ["2003", "2002", "2001", "2000"]


async def test_the_web_apps_path_answers_the_same(client, florist):
    assert await numbers(client, florist, "?source=voice", "/api/orders") == ["2002", "2001"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?source=voice", ["2002", "2001"]),
        ("?status=cancelled", ["2003"]),
        ("?number=2001", ["2001"]),
        ("?deliveryFrom=2026-12-01", ["2002", "2001"]),
        ("?deliveryTo=2026-12-02", ["2001", "2000"]),
        ("?deliveryFrom=2026-12-01&deliveryTo=2026-12-03", ["2001"]),
        ("?createdFrom=2026-11-23T00:00:00Z", ["2003", "2002"]),
        ("?createdTo=2026-11-23T00:00:00Z", ["2001", "2000"]),
        ("?source=voice&status=pending", ["2002"]),
    ],
)
async def test_each_filter(client, florist, query, expected):
    assert await numbers(client, florist, query) == expected


async def test_filter_by_customer(client, florist):
    anna = florist["anna"].id
    assert await numbers(client, florist, f"?customerId={anna}") == ["2002", "2000"]


async def test_another_shops_customer_as_a_filter_is_404(client, florist, db):
    stranger = await create_customer(db, await create_shop(db))
    response = await client.get(f"/api/ai/orders?customerId={stranger.id}", headers=florist["key"])
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "customer_not_found"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?source=fax", "query.source"),
        ("?status=lost", "query.status"),
        ("?customerId=nope", "query.customerId"),
        ("?deliveryFrom=tomorrow", "query.deliveryFrom"),
        # Numbers are not read as Unix timestamps: only the ISO forms the document names.
        ("?deliveryTo=0", "query.deliveryTo"),
        ("?createdTo=1700000000", "query.createdTo"),
        ("?createdFrom=2026-11-23T00:00:00", "query.createdFrom"),
        ("?limit=0", "query.limit"),
    ],
)
async def test_bad_filters_are_422_naming_the_parameter(client, florist, query, field):
    response = await client.get(f"/api/ai/orders{query}", headers=florist["key"])
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]


async def test_pages_follow_the_cursor(client, florist):
    seen, cursor = [], None
    while True:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = (await client.get(f"/api/ai/orders{query}", headers=florist["key"])).json()
        seen.extend(order["number"] for order in body["items"])
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert seen == ["2003", "2002", "2001", "2000"]


async def test_one_order_with_its_items(client, florist):
    order = florist["orders"][1]
    response = await client.get(f"/api/ai/orders/{order.id}", headers=florist["key"])
    assert response.status_code == 200
    body = response.json()
    assert body["number"] == "2001"
    assert body["source"] == "voice"
    assert body["customerId"] == str(order.customer_id)
    assert body["total"] == order.total_minor
    assert [(i["name"], i["unitPrice"]) for i in body["items"]] == [
        ("Roses", 2950),
        ("Chocolates", 895),
    ]


async def test_another_shops_order_is_404_and_never_listed(client, florist):
    theirs = florist["theirs"]
    response = await client.get(f"/api/ai/orders/{theirs.id}", headers=florist["key"])
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "order_not_found"
    assert await numbers(client, florist, "?number=2000") == ["2000"]
    listed = (await client.get("/api/ai/orders", headers=florist["key"])).json()["items"]
    assert str(theirs.id) not in {order["id"] for order in listed}


async def test_orders_need_the_orders_scope(client, florist):
    response = await client.get("/api/ai/orders", headers=florist["no_scope"])
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
