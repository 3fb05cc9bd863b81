"""Idempotency-Key (the store and the route dependency), on POST /api/ai/integrations: the
same key and body get the stored answer, another body a 409, errors are not stored,
concurrent duplicates make one integration."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi import APIRouter
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select, update

from bloomer_ai.idempotency.dependency import Idempotent
from bloomer_ai.idempotency.store import request_fingerprint
from bloomer_ai.kit.time import utcnow
from bloomer_ai.main import create_app
from bloomer_ai.models import IdempotencyKey, Integration
from bloomer_ai.web.routes import JsonRoute
from conftest import make_settings
from factories.core import create_shop
from support.auth import issue_key, key_headers
from support.committed import committed_shop

URL = "/api/ai/integrations"
BODY = {"provider": "vapi", "kind": "voice", "secrets": {"serverSecret": "idem-secret"}}


@pytest.fixture
async def shop_key(db) -> tuple[Any, dict[str, str]]:
    shop = await create_shop(db)
    _, secret = await issue_key(db, shop, ["integrations:read", "integrations:write"])
    return shop, key_headers(secret)


async def count_integrations(db, shop_id: uuid.UUID) -> int:
    return int(
        await db.scalar(
            select(func.count()).select_from(Integration).where(Integration.shop_id == shop_id)
        )
    )


def with_key(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def test_the_same_key_and_body_get_the_first_answer(client, db, shop_key) -> None:
    shop, headers = shop_key
    first = await client.post(URL, json=BODY, headers=with_key(headers, "order-123"))
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    # The same body spelled differently (key order, spacing) is the same request.
    spelled = json.dumps(
        {"secrets": {"serverSecret": "idem-secret"}, "kind": "voice", "provider": "vapi"}, indent=2
    )
    again = await client.post(
        URL,
        content=spelled,
        headers={**with_key(headers, "order-123"), "Content-Type": "application/json"},
    )
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == "application/json"
    assert await count_integrations(db, shop.id) == 1


async def test_the_stored_answer_is_replayed_not_recomputed(client, db, shop_key) -> None:
    _shop, headers = shop_key
    first = (await client.post(URL, json=BODY, headers=with_key(headers, "k-1"))).json()
    await client.patch(f"{URL}/{first['id']}", json={"status": "disabled"}, headers=headers)
    replay = await client.post(URL, json=BODY, headers=with_key(headers, "k-1"))
    assert replay.json() == first
    assert replay.json()["status"] == "active"


async def test_the_same_key_with_another_body_is_409(client, db, shop_key) -> None:
    shop, headers = shop_key
    assert (await client.post(URL, json=BODY, headers=with_key(headers, "k-2"))).status_code == 201
    other = {**BODY, "status": "disabled"}
    reused = await client.post(URL, json=other, headers=with_key(headers, "k-2"))
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert await count_integrations(db, shop.id) == 1


async def test_keys_belong_to_their_shop(client, db, shop_key) -> None:
    _shop, headers = shop_key
    other = await create_shop(db)
    _, other_secret = await issue_key(db, other, ["integrations:write"])
    mine = await client.post(URL, json=BODY, headers=with_key(headers, "shared"))
    theirs = await client.post(
        URL, json=BODY, headers=with_key(key_headers(other_secret), "shared")
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert "idempotent-replayed" not in theirs.headers


async def test_an_error_is_not_stored_and_the_retry_runs(client, db, shop_key) -> None:
    shop, headers = shop_key
    wrong = await client.post(
        URL, json={**BODY, "kind": "support"}, headers=with_key(headers, "k-3")
    )
    assert wrong.status_code == 422
    keys = await db.scalar(
        select(func.count()).select_from(IdempotencyKey).where(IdempotencyKey.shop_id == shop.id)
    )
    assert keys == 0
    fixed = await client.post(URL, json=BODY, headers=with_key(headers, "k-3"))
    assert fixed.status_code == 201
    assert "idempotent-replayed" not in fixed.headers


async def test_no_key_no_idempotency(client, db, shop_key) -> None:
    shop, headers = shop_key
    for _ in range(2):
        assert (await client.post(URL, json=BODY, headers=headers)).status_code == 201
    assert await count_integrations(db, shop.id) == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "naïve"])
async def test_a_malformed_key_is_422(client, shop_key, key) -> None:
    _shop, headers = shop_key
    response = await client.post(
        URL, json=BODY, headers={**headers, "Idempotency-Key": key.encode()}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert response.json()["error"]["details"][0]["field"] == "Idempotency-Key"


async def test_an_expired_key_is_taken_over(client, db, shop_key) -> None:
    shop, headers = shop_key
    first = await client.post(URL, json=BODY, headers=with_key(headers, "k-4"))
    await db.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.shop_id == shop.id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    fresh = await client.post(
        URL, json={**BODY, "status": "disabled"}, headers=with_key(headers, "k-4")
    )
    assert fresh.status_code == 201
    assert fresh.json()["id"] != first.json()["id"]
    assert await count_integrations(db, shop.id) == 2


async def test_the_key_is_kept_for_the_configured_hours(client, db, shop_key) -> None:
    shop, headers = shop_key
    await client.post(URL, json=BODY, headers=with_key(headers, "k-5"))
    row = await db.scalar(select(IdempotencyKey).where(IdempotencyKey.shop_id == shop.id))
    assert row is not None
    assert timedelta(hours=23, minutes=59) < row.expires_at - utcnow() <= timedelta(hours=24)
    assert row.method == "POST" and row.path == URL and row.response_status == 201
    assert row.request_hash == request_fingerprint("POST", URL, json.dumps(BODY).encode())


def test_the_fingerprint_covers_method_target_and_body() -> None:
    body = b'{"a":1}'
    base = request_fingerprint("POST", "/x", body)
    assert base == request_fingerprint("post", "/x", b'{ "a" : 1 }')
    assert base != request_fingerprint("POST", "/y", body)
    assert base != request_fingerprint("POST", "/x?a=1", body)
    assert base != request_fingerprint("PUT", "/x", body)
    assert base != request_fingerprint("POST", "/x", b'{"a":2}')
    assert request_fingerprint("POST", "/x", b"\xff not json") != request_fingerprint(
        "POST", "/x", b"\xfe not json"
    )


async def test_a_route_that_declares_it_before_its_principal_fails_closed(app, client, shop_key):
    """The dependency needs the shop bound by Access: before it, it refuses to run."""
    router = APIRouter(route_class=JsonRoute)

    @router.post("/test-idempotency/wrong-order")
    async def wrong_order(idempotent: Idempotent, principal: Any = None) -> dict[str, bool]:
        return {"ok": True}

    app.include_router(router)
    _shop, headers = shop_key
    with pytest.raises(RuntimeError, match="after the route's principal"):
        await client.post("/test-idempotency/wrong-order", headers=with_key(headers, "k-6"))


# --- real concurrency: committed rows, the app on its own pool ----------------------------------


async def test_concurrent_duplicates_make_one_integration(engine, database_target) -> None:
    async with committed_shop(engine, name="Idempotency race") as (shop, secret):
        app = create_app(make_settings(database_target.operator_url), database=database_target)
        async with (
            app.router.lifespan_context(app),
            AsyncClient(transport=ASGITransport(app=app), base_url="http://race") as client,
        ):
            headers = key_headers(secret)

            async def post(key: str | None) -> Any:
                extra = {"Idempotency-Key": key} if key else {}
                return await client.post(URL, json=BODY, headers={**headers, **extra})

            keyed = await asyncio.gather(*(post("race-1") for _ in range(6)))
            # The negative control: the same requests without a key are six effects.
            unkeyed = await asyncio.gather(*(post(None) for _ in range(6)))

        assert {response.status_code for response in keyed} == {201}
        assert len({response.content for response in keyed}) == 1
        assert sum("idempotent-replayed" in r.headers for r in keyed) == 5
        assert len({response.json()["id"] for response in unkeyed}) == 6
        async with engine.connect() as connection:
            made = await connection.scalar(
                select(func.count()).select_from(Integration).where(Integration.shop_id == shop.id)
            )
        assert made == 1 + 6
