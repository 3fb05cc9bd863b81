"""The product catalogue over HTTP: keys read it (shop:read), owners and admins change it;
another shop's product is 404; bad input is 422 with its field."""

from __future__ import annotations

from typing import Any

import pytest

from factories.core import add_member, create_shop, create_user
from factories.tools import create_product
from support.auth import bearer, database_session, issue_key, key_headers

PRODUCTS = "/api/ai/products"


@pytest.fixture
async def world(db) -> dict[str, Any]:
    shop = await create_shop(db, currency="EUR")
    other = await create_shop(db)
    owner, staff = await create_user(db), await create_user(db)
    await add_member(db, shop, owner, "owner")
    await add_member(db, shop, staff, "staff")
    _, reader = await issue_key(db, shop, ["shop:read"])
    _, no_scope = await issue_key(db, shop, ["orders:read"])
    return {
        "shop": shop,
        "other": other,
        "owner": bearer(await database_session(db, owner.id)),
        "staff": bearer(await database_session(db, staff.id)),
        "reader": key_headers(reader),
        "no_scope": key_headers(no_scope),
    }


async def test_an_owner_manages_the_catalogue_and_a_key_reads_it(client, world):
    created = await client.post(
        PRODUCTS,
        json={"name": "Red roses", "price": 2950, "productType": "bouquet"},
        headers=world["owner"],
    )
    assert created.status_code == 201, created.text
    product = created.json()
    assert (product["price"], product["currency"], product["available"]) == (2950, "EUR", True)
    path = f"{PRODUCTS}/{product['id']}"
    listed = await client.get(PRODUCTS, headers=world["reader"])
    assert [p["id"] for p in listed.json()["items"]] == [product["id"]]
    changed = await client.patch(
        path, json={"available": False, "description": None}, headers=world["owner"]
    )
    assert changed.json()["available"] is False
    assert (await client.get(f"{PRODUCTS}?available=true", headers=world["reader"])).json()[
        "items"
    ] == []
    assert (await client.get(path, headers=world["reader"])).json()["available"] is False
    assert (await client.delete(path, headers=world["owner"])).status_code == 204
    assert (await client.get(path, headers=world["reader"])).status_code == 404


async def test_who_may_do_what(client, world, db):
    body = {"name": "Tulips", "price": 1500}
    assert (await client.post(PRODUCTS, json=body, headers=world["staff"])).status_code == 403
    refused = await client.post(PRODUCTS, json=body, headers=world["reader"])
    assert refused.json()["error"]["code"] == "session_required"
    no_scope = await client.get(PRODUCTS, headers=world["no_scope"])
    assert no_scope.json()["error"]["code"] == "insufficient_scope"
    assert (await client.get(PRODUCTS)).status_code == 401


async def test_another_shops_product_is_404(client, world, db):
    theirs = await create_product(db, world["other"])
    path = f"{PRODUCTS}/{theirs.id}"
    assert (await client.get(path, headers=world["reader"])).status_code == 404
    assert (await client.patch(path, json={"price": 1}, headers=world["owner"])).status_code == 404
    assert (await client.delete(path, headers=world["owner"])).status_code == 404
    listed = await client.get(PRODUCTS, headers=world["reader"])
    assert listed.json()["items"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "price": 1}, "body.name"),
        ({"name": "Roses", "price": -1}, "body.price"),
        ({"name": "Roses"}, "body.price"),
        ({"name": "Roses", "price": 1, "currency": "eur"}, "body.currency"),
        ({"name": "Roses", "price": 1, "productType": "Big Bouquet"}, "body.productType"),
        # JSON's types as they are: no 0/1 for a boolean, no false or "12" for a price.
        ({"name": "Roses", "price": 1, "available": 0}, "body.available"),
        ({"name": "Roses", "price": False}, "body.price"),
        ({"name": "Roses", "price": "12"}, "body.price"),
    ],
)
async def test_bad_input_is_422_with_the_field(client, world, body, field):
    response = await client.post(PRODUCTS, json=body, headers=world["owner"])
    assert response.status_code == 422
    assert field in [d["field"] for d in response.json()["error"]["details"]]


async def test_a_patch_may_not_null_a_required_field(client, world, db):
    product = await create_product(db, world["shop"])
    response = await client.patch(
        f"{PRODUCTS}/{product.id}", json={"price": None}, headers=world["owner"]
    )
    assert response.status_code == 422


async def test_switched_off_is_404(database_url, session_factory, world):
    from httpx import ASGITransport, AsyncClient

    from bloomer_ai.config import FeatureSettings
    from bloomer_ai.db.engine import DatabaseTarget
    from bloomer_ai.main import create_app
    from conftest import make_settings

    settings = make_settings(
        database_url, features=FeatureSettings(ai_tools_enabled=False, _env_file=None)
    )
    application = create_app(
        settings,
        database=DatabaseTarget(database_url, embedded=False),
        session_factory=session_factory,
    )
    async with application.router.lifespan_context(application):
        transport = ASGITransport(app=application)
        async with AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get(PRODUCTS, headers=world["reader"])
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "feature_disabled"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Roses", "price": 1, "available": 0}, "body.available"),
        ({"name": "Roses", "price": "1"}, "body.price"),
        ({"name": "Roses", "price": 1.5}, "body.price"),
    ],
)
async def test_types_are_not_coerced(client, world, body, field):
    response = await client.post(PRODUCTS, json=body, headers=world["owner"])
    assert response.status_code == 422
    assert field in [d["field"] for d in response.json()["error"]["details"]]
