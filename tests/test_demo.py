"""`bloomer-ai serve --demo`: seeded once, its data agree with today, and its credentials
work and are kept (a file of the data folder) until they no longer sign in."""

from __future__ import annotations

import json
import stat
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select

from bloomer_ai.agent.config.schema import AgentConfig
from bloomer_ai.auth.service import operator_revoke_api_key, usable_api_key
from bloomer_ai.demo import (
    DEMO_SHOP_NAME,
    EARLIER_DEMO_SHOP_NAME,
    DemoCredentials,
    SampleOrder,
    SavedCredentials,
    describe_demo,
    read_saved_credentials,
    save_credentials,
    seed_demo,
)
from bloomer_ai.models import AuthSession, Customer, Order, OrderRoutingRule, Product, Shop
from bloomer_ai.models.order import OPEN_ORDER_STATUSES
from factories.core import create_shop


async def _count(db, model, shop_id):
    return await db.scalar(select(func.count()).select_from(model).where(model.shop_id == shop_id))


def _saved(credentials: DemoCredentials) -> SavedCredentials:
    return SavedCredentials(credentials.api_key, credentials.session_token)


async def _me(client, credentials: DemoCredentials) -> tuple[int, int]:
    """Status of /me with the API key, and with the sign-in token."""
    by_key = await client.get("/api/ai/me", headers={"X-API-Key": credentials.api_key})
    by_token = await client.get(
        "/api/ai/me", headers={"Cookie": f"next-auth.session-token={credentials.session_token}"}
    )
    return by_key.status_code, by_token.status_code


async def test_demo_is_seeded_once_and_its_credentials_work(db, client, settings):
    first = await seed_demo(db, settings)
    assert first.created and not first.reused
    shop = await db.scalar(select(Shop).where(Shop.name == DEMO_SHOP_NAME))
    assert shop is not None
    assert await _count(db, Customer, shop.id) == 40
    assert await _count(db, Order, shop.id) == 320
    assert await _count(db, OrderRoutingRule, shop.id) == 3
    AgentConfig.model_validate(shop.lilli_config)  # the seeded config is a valid one

    # A second start with the saved file: nothing seeded twice, the same credentials.
    second = await seed_demo(db, settings, _saved(first))
    assert not second.created and second.shop_id == first.shop_id and second.reused
    assert (second.api_key, second.session_token) == (first.api_key, first.session_token)
    assert await _count(db, Order, shop.id) == 320

    # The file gone: new credentials, and the key nobody has on record any more revoked.
    third = await seed_demo(db, settings)
    assert not third.reused and third.api_key != first.api_key
    assert third.session_token != first.session_token
    assert (await _me(client, first))[0] == 401
    assert await _me(client, third) == (200, 200)
    me = await client.get("/api/ai/me", headers={"X-API-Key": third.api_key})
    assert me.json()["shop"]["name"] == DEMO_SHOP_NAME
    me = await client.get(
        "/api/ai/me", headers={"Cookie": f"next-auth.session-token={third.session_token}"}
    )
    assert me.json()["role"] == "owner"

    reply = await client.post(
        "/api/ai/agent", json={"message": "Are you open?"}, headers={"X-API-Key": third.api_key}
    )
    assert reply.status_code == 200
    assert "don't have the opening hours" not in reply.json()["reply"]
    # The assistant answers delivery and catalogue questions from the demo's own facts.
    for question, fact in (
        ("How much does delivery cost?", "€6.95"),
        ("Do you have red roses?", "Twelve red roses at €39.95"),
        ("Do you have orchids?", "sold out"),
        ("Hebben jullie chocolade?", "Chocolates voor € 8,95"),
    ):
        answer = await client.post(
            "/api/ai/agent", json={"message": question}, headers={"X-API-Key": third.api_key}
        )
        assert fact in answer.json()["reply"] and "(demo)" not in answer.json()["reply"]

    # The saved key revoked: a new key; the sign-in token, still valid, is kept.
    key = await usable_api_key(db, third.api_key, pepper=settings.auth.pepper())
    assert key is not None
    await operator_revoke_api_key(db, key.id)
    fourth = await seed_demo(db, settings, _saved(third))
    assert fourth.api_key != third.api_key and not fourth.reused
    assert fourth.session_token == third.session_token
    assert await _me(client, fourth) == (200, 200)

    # The saved sign-in session gone (signed out): a new token; the key is kept.
    await db.execute(delete(AuthSession).where(AuthSession.session_token == fourth.session_token))
    fifth = await seed_demo(db, settings, _saved(fourth))
    assert fifth.api_key == fourth.api_key and fifth.session_token != fourth.session_token
    assert (await _me(client, fifth))[1] == 200


async def test_a_demo_shop_of_the_earlier_name_is_renamed_and_given_a_catalogue(db, settings):
    earlier = await create_shop(db, name=EARLIER_DEMO_SHOP_NAME, lilli_config={"language": "en"})
    credentials = await seed_demo(db, settings)
    assert credentials.shop_id == str(earlier.id) and not credentials.created
    shop = await db.get(Shop, earlier.id)
    assert shop is not None and shop.name == DEMO_SHOP_NAME and "delivery" in shop.lilli_config
    assert await _count(db, Product, shop.id) == 6


async def test_demo_orders_agree_with_today(db, settings, client):
    credentials = await seed_demo(db, settings)
    shop = await db.scalar(select(Shop).where(Shop.name == DEMO_SHOP_NAME))
    today = datetime.now(ZoneInfo(shop.timezone)).date()
    orders = (await db.execute(select(Order).where(Order.shop_id == shop.id))).scalars().all()
    overdue = [
        o.number for o in orders if o.status in OPEN_ORDER_STATUSES and o.delivery_date < today
    ]
    assert overdue == []  # nothing confirmed (or otherwise open) is due in the past
    early = [
        o.number
        for o in orders
        if o.status in ("delivered", "picked_up") and o.delivery_date > today
    ]
    assert early == []  # nothing delivered before its day
    upcoming = [o for o in orders if o.status in OPEN_ORDER_STATUSES]
    assert len(upcoming) >= 5  # a demo has orders still to deliver

    sample = credentials.sample
    assert sample is not None
    assert sample.status in OPEN_ORDER_STATUSES
    assert sample.delivery_date is not None and sample.delivery_date >= today
    headers = {"X-API-Key": credentials.api_key}
    found = await client.get("/api/ai/orders", params={"number": sample.number}, headers=headers)
    assert found.status_code == 200
    (order,) = found.json()["items"]
    assert order["customerId"] == sample.customer_id
    customer = await client.get(f"/api/ai/customers/{sample.customer_id}", headers=headers)
    assert customer.status_code == 200


def _credentials(**overrides: object) -> DemoCredentials:
    values: dict[str, object] = {
        "shop_id": "01a24f5e-ac7a-7d52-a165-3bdd7bcf5752",
        "shop_name": DEMO_SHOP_NAME,
        "user_id": "01a24f5e-ac7a-7d52-a165-3bdd7bcf5753",
        "user_email": "owner@demo.bloomer.test",
        "created": False,
        "api_key": "blm_abcdefghij_" + "k" * 43,
        "session_token": "demo-token",
        "reused": False,
        "sample": SampleOrder("1317", "confirmed", None, "01a24f5e-acea-77b0-a20f-147de6e64d49"),
    }
    values.update(overrides)
    return DemoCredentials(**values)  # type: ignore[arg-type]


def test_the_credentials_file_is_the_owners_alone(tmp_path: Path) -> None:
    path = tmp_path / "data" / "demo-credentials.json"
    assert read_saved_credentials(path) is None
    credentials = _credentials()
    save_credentials(path, credentials)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_saved_credentials(path) == SavedCredentials(
        credentials.api_key, credentials.session_token
    )
    assert json.loads(path.read_text())["shopId"] == credentials.shop_id

    # Written again over a file someone made readable: the owner's alone again.
    path.chmod(0o644)
    save_credentials(path, _credentials(session_token="demo-other"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = read_saved_credentials(path)
    assert saved is not None and saved.session_token == "demo-other"
    assert sorted(p.name for p in path.parent.iterdir()) == ["demo-credentials.json"]

    for garbage in ("not json", "[]", '{"apiKey": "x"}'):
        path.write_text(garbage)
        assert read_saved_credentials(path) is None


def test_describe_demo_prints_a_sample_order_and_customer() -> None:
    credentials = _credentials()
    printed = describe_demo(credentials, "127.0.0.1", 8000)
    key = credentials.api_key
    assert f"curl -H 'Authorization: Bearer {key}' http://127.0.0.1:8000/api/ai/me" in printed
    assert "next-auth.session-token=demo-token" in printed
    assert "Sample order 1317 (confirmed), customer 01a24f5e-acea-77b0-a20f-147de6e64d49" in printed
    assert "'http://127.0.0.1:8000/api/ai/orders?number=1317'" in printed
    assert "http://127.0.0.1:8000/api/ai/customers/01a24f5e-acea-77b0-a20f-147de6e64d49" in printed
    assert "saved to demo-credentials.json" in printed
    assert "kept in demo-credentials.json" in describe_demo(
        _credentials(reused=True), "127.0.0.1", 8000
    )
