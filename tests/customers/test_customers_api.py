"""Customers over HTTP: by phone in any common spelling, e-mail in any case, name prefix;
one customer with their order count and last order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from factories.core import create_customer, create_order, create_shop
from support.auth import issue_key, key_headers


@pytest.fixture
async def florist(db):
    shop = await create_shop(db, country="NL")
    other = await create_shop(db, country="NL")
    anna = await create_customer(
        db, shop, name="Anna de Vries", phone="+31612345678", email="Anna.deVries@Example.test"
    )
    annelies = await create_customer(db, shop, name="Annelies Bakker", phone=None, email=None)
    percent = await create_customer(db, shop, name="100% Flowers BV", phone=None, email=None)
    theirs = await create_customer(db, other, name="Anna Elsewhere", phone="+31612345678")
    _, key = await issue_key(db, shop, ["customers:read"])
    return {
        "shop": shop,
        "anna": anna,
        "annelies": annelies,
        "percent": percent,
        "theirs": theirs,
        "key": key_headers(key),
    }


async def found(client, florist, query: str) -> list[str]:
    response = await client.get(f"/api/ai/customers?{query}", headers=florist["key"])
    assert response.status_code == 200, response.text
    return [customer["name"] for customer in response.json()["items"]]


@pytest.mark.parametrize(
    "phone", ["+31612345678", "+31 6 1234 5678", "06-12345678", "0612345678", "0031612345678"]
)
async def test_phone_in_any_common_spelling(client, florist, phone):
    from urllib.parse import quote

    assert await found(client, florist, f"phone={quote(phone)}") == ["Anna de Vries"]


async def test_email_in_any_case(client, florist):
    assert await found(client, florist, "email=ANNA.DEVRIES@example.TEST") == ["Anna de Vries"]


async def test_name_prefix_any_case_and_literal_wildcards(client, florist):
    assert set(await found(client, florist, "name=ann")) == {"Anna de Vries", "Annelies Bakker"}
    assert await found(client, florist, "name=Annel") == ["Annelies Bakker"]
    assert await found(client, florist, "name=100%25") == ["100% Flowers BV"]
    assert await found(client, florist, "name=_") == []


async def test_another_shops_customers_are_never_found(client, florist):
    names = await found(client, florist, "phone=%2B31612345678")
    assert names == ["Anna de Vries"]
    response = await client.get(f"/api/ai/customers/{florist['theirs'].id}", headers=florist["key"])
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "customer_not_found"


async def test_a_phone_that_is_no_number_is_422(client, florist):
    response = await client.get("/api/ai/customers?phone=flowers", headers=florist["key"])
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "query.phone"


async def test_one_customer_with_order_count_and_last_order(client, florist, db):
    anna = florist["anna"]
    now = datetime.now(UTC)
    await create_order(
        db, florist["shop"], customer_id=anna.id, number="A1", placed_at=now - timedelta(days=9)
    )
    last = await create_order(
        db, florist["shop"], customer_id=anna.id, number="A2", placed_at=now - timedelta(days=1)
    )
    response = await client.get(f"/api/ai/customers/{anna.id}", headers=florist["key"])
    assert response.status_code == 200
    body = response.json()
    assert body["orderCount"] == 2
    assert body["lastOrder"]["id"] == str(last.id)
    assert body["lastOrder"]["number"] == "A2"

    never = await client.get(f"/api/ai/customers/{florist['annelies'].id}", headers=florist["key"])
    assert never.json()["orderCount"] == 0
    assert never.json()["lastOrder"] is None
