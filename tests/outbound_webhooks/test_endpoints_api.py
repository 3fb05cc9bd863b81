"""Outbound webhook endpoints over HTTP (owners and admins, or keys with webhooks:*),
attempts and redelivery; and ``record_event``, which every domain calls: the event and its
deliveries in the caller's transaction, one job per endpoint that takes the type."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from bloomer_ai.config import OutboundWebhookSettings
from bloomer_ai.db.tenancy import TenancyViolation
from bloomer_ai.kit.encryption import Keyring
from bloomer_ai.kit.time import utcnow
from bloomer_ai.main import create_app
from bloomer_ai.models import WebhookEndpoint
from bloomer_ai.outbound_webhooks import service
from bloomer_ai.outbound_webhooks.delivery.secrets import open_secrets
from bloomer_ai.outbound_webhooks.errors import EndpointSecretUnreadable
from bloomer_ai.outbound_webhooks.repository import AttemptRepository
from conftest import make_settings
from factories.core import add_member, create_shop, create_user
from support.auth import bearer, database_session, issue_key, key_headers
from support.sessions import shop_session

ENDPOINTS = "/api/ai/webhooks/endpoints"
RECEIVER = "https://hooks.example.com/bloomer"


@pytest.fixture
async def caller(db) -> dict[str, Any]:
    shop, other = await create_shop(db), await create_shop(db)
    owner, staff = await create_user(db), await create_user(db)
    await add_member(db, shop, owner, "owner")
    await add_member(db, shop, staff, "staff")
    _, writer = await issue_key(db, shop, ["webhooks:write", "webhooks:read"])
    _, reader = await issue_key(db, shop, ["webhooks:read"])
    return {
        "shop": shop,
        "other": other,
        "owner": bearer(await database_session(db, owner.id)),
        "staff": bearer(await database_session(db, staff.id)),
        "writer": key_headers(writer),
        "reader": key_headers(reader),
    }


async def create(client, headers, **body: Any) -> dict[str, Any]:
    response = await client.post(ENDPOINTS, json={"url": RECEIVER, **body}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def jobs_of_event(db, event_id: Any) -> list[dict[str, Any]]:
    rows = await db.execute(
        text("SELECT args FROM procrastinate_jobs WHERE args->>'event_id' = :id"),
        {"id": str(event_id)},
    )
    return [row.args for row in rows]


async def test_an_owner_adds_an_endpoint_and_sees_its_secret_once(client, caller) -> None:
    created = await create(
        client, caller["owner"], description="Web shop", eventTypes=["order.created"]
    )
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert (created["url"], created["eventTypes"], created["enabled"]) == (
        RECEIVER,
        ["order.created"],
        True,
    )
    shown = await client.get(f"{ENDPOINTS}/{created['id']}", headers=caller["owner"])
    listed = await client.get(ENDPOINTS, headers=caller["reader"])
    assert shown.status_code == listed.status_code == 200
    assert "secret" not in shown.json() and created["secret"] not in listed.text
    assert [item["id"] for item in listed.json()["items"]] == [created["id"]]


async def test_keys_are_held_to_their_scopes_and_sessions_to_their_roles(client, caller) -> None:
    assert (
        await client.post(ENDPOINTS, json={"url": RECEIVER}, headers=caller["writer"])
    ).status_code == 201
    refused = await client.post(ENDPOINTS, json={"url": RECEIVER}, headers=caller["reader"])
    assert refused.json()["error"]["code"] == "insufficient_scope"
    for method in ("GET", "POST"):
        staff = await client.request(
            method, ENDPOINTS, json={"url": RECEIVER}, headers=caller["staff"]
        )
        assert (staff.status_code, staff.json()["error"]["code"]) == (403, "insufficient_role")


@pytest.mark.parametrize(
    ("body", "field", "type_"),
    [
        ({"url": "ftp://hooks.example.com/x"}, "url", "not_a_url"),
        ({"url": "https://user:pw@hooks.example.com/x"}, "url", "credentials_in_url"),
        ({"url": RECEIVER, "eventTypes": ["order.shipped"]}, "eventTypes[0]", None),
        ({"url": ""}, "url", None),
    ],
)
async def test_bad_endpoints_are_422_naming_the_field(client, caller, body, field, type_) -> None:
    response = await client.post(ENDPOINTS, json=body, headers=caller["owner"])
    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert f"body.{field}" in [detail["field"] for detail in details]
    if type_:
        assert type_ in [detail["type"] for detail in details]


async def test_without_private_targets_only_public_https_is_taken(
    database_url, database_target, session_factory, caller
) -> None:
    settings = make_settings(
        database_url,
        outbound=OutboundWebhookSettings(_env_file=None, webhook_allow_private_targets=False),
    )
    app = create_app(settings, database=database_target, session_factory=session_factory)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        for url, code in (
            ("http://hooks.example.com/x", "https_required"),
            ("https://127.0.0.1/x", "private_address"),
            ("https://[::1]:8443/x", "private_address"),
        ):
            response = await client.post(ENDPOINTS, json={"url": url}, headers=caller["owner"])
            assert response.status_code == 422
            assert response.json()["error"]["details"][0]["type"] == code
        assert (
            await client.post(ENDPOINTS, json={"url": RECEIVER}, headers=caller["owner"])
        ).status_code == 201


async def test_loopback_is_taken_in_tests(client, caller) -> None:
    await create(client, caller["owner"], url="http://127.0.0.1:9000/hooks")


async def test_patch_changes_what_it_names_and_clears_a_null_description(client, caller) -> None:
    created = await create(client, caller["owner"], description="to clear")
    path = f"{ENDPOINTS}/{created['id']}"
    changed = await client.patch(
        path, json={"description": None, "enabled": False}, headers=caller["writer"]
    )
    assert changed.status_code == 200
    body = changed.json()
    assert (body["description"], body["enabled"], body["url"]) == (None, False, RECEIVER)
    nulled = await client.patch(path, json={"url": None}, headers=caller["owner"])
    assert nulled.status_code == 422
    moved = await client.patch(
        path, json={"url": "https://other.example.com/in"}, headers=caller["owner"]
    )
    assert moved.json()["url"] == "https://other.example.com/in"


async def test_re_enabling_a_gone_endpoint_clears_the_reason(client, caller, db) -> None:
    created = await create(client, caller["owner"])
    await db.execute(
        text(
            "UPDATE webhook_endpoints SET enabled = false, disabled_reason = 'gone' WHERE id = :id"
        ),
        {"id": created["id"]},
    )
    path = f"{ENDPOINTS}/{created['id']}"
    assert (await client.get(path, headers=caller["owner"])).json()["disabledReason"] == "gone"
    body = (await client.patch(path, json={"enabled": True}, headers=caller["owner"])).json()
    assert (body["enabled"], body["disabledReason"]) == (True, None)


async def test_delete_and_then_it_is_gone(client, caller) -> None:
    created = await create(client, caller["owner"])
    path = f"{ENDPOINTS}/{created['id']}"
    assert (await client.delete(path, headers=caller["writer"])).status_code == 204
    missing = await client.get(path, headers=caller["owner"])
    assert (missing.status_code, missing.json()["error"]["code"]) == (
        404,
        "webhook_endpoint_not_found",
    )


async def test_rotation_shows_the_new_secret_once_and_keeps_the_old_for_the_overlap(
    client, caller
) -> None:
    created = await create(client, caller["owner"])
    rotated = await client.post(
        f"{ENDPOINTS}/{created['id']}/rotate-secret", headers=caller["owner"]
    )
    assert rotated.status_code == 200
    body = rotated.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != created["secret"]
    expires = body["previousSecretExpiresAt"]
    assert expires is not None and expires > (utcnow() + timedelta(hours=23)).isoformat()


async def test_secrets_are_stored_sealed_and_open_only_in_their_own_row(client, caller, db) -> None:
    first = await create(client, caller["owner"])
    second = await create(client, caller["owner"])
    rotated = await client.post(f"{ENDPOINTS}/{first['id']}/rotate-secret", headers=caller["owner"])
    assert rotated.status_code == 200
    stored = (
        await db.execute(
            text("SELECT row_to_json(e)::text AS row, e.* FROM webhook_endpoints e ORDER BY id")
        )
    ).all()
    everything = " ".join(row.row for row in stored)
    for secret in (first["secret"], second["secret"], rotated.json()["secret"]):
        assert secret not in everything and secret.removeprefix("whsec_") not in everything
    assert "whsec_" not in everything
    keyring = Keyring.development()  # the test settings hold no DATA_ENCRYPTION_KEY
    by_id = {
        str(row.id): WebhookEndpoint(
            id=row.id,
            shop_id=row.shop_id,
            secrets_key_id=row.secrets_key_id,
            secrets_ciphertext=row.secrets_ciphertext,
        )
        for row in stored
    }
    endpoint = by_id[first["id"]]
    secrets = open_secrets(endpoint, keyring)
    assert (secrets.current, secrets.previous) == (rotated.json()["secret"], first["secret"])
    assert "whsec_" not in repr(secrets)
    # The sealed value of one endpoint, copied into another row, does not open there.
    copied = by_id[second["id"]]
    copied.secrets_ciphertext = endpoint.secrets_ciphertext
    with pytest.raises(EndpointSecretUnreadable):
        open_secrets(copied, keyring)


async def test_record_event_defers_one_delivery_per_endpoint_that_takes_the_type(
    client, caller, db
) -> None:
    takes_all = await create(client, caller["owner"])
    takes_orders = await create(client, caller["owner"], eventTypes=["order.created"])
    await create(client, caller["owner"], eventTypes=["integration.updated"])
    switched_off = await create(client, caller["owner"], enabled=False)
    async with shop_session(db, caller["shop"]) as session:
        event = await service.record_event(
            session, caller["shop"].id, "order.created", {"order": {"id": "x"}}
        )
    jobs = await jobs_of_event(db, event.id)
    assert sorted(str(job["endpoint_id"]) for job in jobs) == sorted(
        [takes_all["id"], takes_orders["id"], "None"]  # None: the web app's platform endpoint
    )
    assert switched_off["id"] not in {job["endpoint_id"] for job in jobs}
    assert {job["shop_id"] for job in jobs} == {str(caller["shop"].id)}
    assert {job["redelivery"] for job in jobs} == {False}


async def test_record_event_refuses_an_unknown_type_and_another_shop(caller, db) -> None:
    async with shop_session(db, caller["shop"]) as session:
        with pytest.raises(ValueError):
            await service.record_event(session, caller["shop"].id, "order.shipped", {})
        with pytest.raises(TenancyViolation):
            await service.record_event(session, caller["other"].id, "order.created", {})


async def test_redelivery_queues_the_event_again(client, caller, db) -> None:
    endpoint = await create(client, caller["owner"])
    async with shop_session(db, caller["shop"]) as session:
        event = await service.record_event(session, caller["shop"].id, "order.created", {})
    response = await client.post(
        f"/api/ai/webhooks/events/{event.id}/redeliver", headers=caller["writer"]
    )
    assert response.status_code == 202
    assert response.json() == {"eventId": str(event.id), "endpoints": 1}
    again = [job for job in await jobs_of_event(db, event.id) if job["redelivery"]]
    assert sorted(str(job["endpoint_id"]) for job in again) == sorted([endpoint["id"], "None"])
    unknown = await client.post(
        f"/api/ai/webhooks/events/{uuid.uuid4()}/redeliver", headers=caller["writer"]
    )
    assert unknown.json()["error"]["code"] == "webhook_event_not_found"


async def test_attempts_are_the_shops_endpoints_newest_first(client, caller, db) -> None:
    one, two = await create(client, caller["owner"]), await create(client, caller["owner"])
    async with shop_session(db, caller["shop"]) as session:
        event = await service.record_event(session, caller["shop"].id, "order.created", {})
        attempts = AttemptRepository(session)
        for endpoint_id, outcome in (
            (one["id"], "failed"),
            (two["id"], "succeeded"),
            (None, "succeeded"),
        ):
            await attempts.insert(
                event_id=event.id,
                endpoint_id=uuid.UUID(endpoint_id) if endpoint_id else None,
                attempt=1,
                outcome=outcome,
                status_code=500 if outcome == "failed" else 200,
                duration_ms=12,
            )
    listed = await client.get("/api/ai/webhooks/attempts", headers=caller["reader"])
    items = listed.json()["items"]
    # The web app's platform delivery is not the shop's to see.
    assert [(item["endpointId"], item["outcome"]) for item in items] == [
        (two["id"], "succeeded"),
        (one["id"], "failed"),
    ]
    assert items[0]["eventId"] == str(event.id) and items[1]["statusCode"] == 500
    only = await client.get(
        "/api/ai/webhooks/attempts",
        params={"endpointId": one["id"], "eventId": str(event.id)},
        headers=caller["owner"],
    )
    assert [item["endpointId"] for item in only.json()["items"]] == [one["id"]]
