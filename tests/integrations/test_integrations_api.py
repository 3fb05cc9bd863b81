"""Integrations over HTTP: who may, what is validated, secrets sealed and write-only (never in
an answer, an error or a log line), numbers unique across shops, the inbound URL."""

from __future__ import annotations

import io
import json
import secrets
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select

from bloomer_ai.integrations.service import open_secrets
from bloomer_ai.kit.encryption import Keyring
from bloomer_ai.logging import configure_logging
from bloomer_ai.models import Integration
from factories.core import add_member, create_shop, create_user
from factories.integrations import create_integration
from support.auth import bearer, database_session, issue_key, key_headers

URL = "/api/ai/integrations"


@pytest.fixture
async def who(db) -> dict[str, Any]:
    shop = await create_shop(db, country="NL")
    owner, admin, staff = await create_user(db), await create_user(db), await create_user(db)
    await add_member(db, shop, owner, "owner")
    await add_member(db, shop, admin, "admin")
    await add_member(db, shop, staff, "staff")
    _, writer = await issue_key(db, shop, ["integrations:read", "integrations:write"])
    _, reader = await issue_key(db, shop, ["integrations:read"])
    return {
        "shop": shop,
        "owner": bearer(await database_session(db, owner.id)),
        "admin": bearer(await database_session(db, admin.id)),
        "staff": bearer(await database_session(db, staff.id)),
        "writer": key_headers(writer),
        "reader": key_headers(reader),
    }


def vapi(secret: str = "vapi-secret-1a2b3c", **fields: Any) -> dict[str, Any]:
    return {"provider": "vapi", "kind": "voice", "secrets": {"serverSecret": secret}, **fields}


async def create(client: AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> Any:
    response = await client.post(URL, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def fields_of(response: Any) -> list[str]:
    return [detail["field"] for detail in response.json()["error"]["details"]]


# --- who may ---------------------------------------------------------------------------------


async def test_owner_and_admin_sessions_and_write_keys_create(client, who) -> None:
    for caller in ("owner", "admin", "writer"):
        created = await create(client, who[caller], vapi())
        assert created["provider"] == "vapi" and created["status"] == "active"


async def test_staff_sessions_are_refused_by_role(client, who) -> None:
    for method, body in (("GET", None), ("POST", vapi())):
        response = await client.request(method, URL, json=body, headers=who["staff"])
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "insufficient_role"


async def test_a_read_key_reads_but_cannot_write(client, who) -> None:
    created = await create(client, who["owner"], vapi())
    assert (await client.get(f"{URL}/{created['id']}", headers=who["reader"])).status_code == 200
    refused = await client.post(URL, json=vapi(), headers=who["reader"])
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"
    patch = await client.patch(
        f"{URL}/{created['id']}", json={"status": "disabled"}, headers=who["reader"]
    )
    assert patch.status_code == 403


# --- the answer ---------------------------------------------------------------------------


async def test_the_answer_names_the_inbound_url_and_secret_names_only(client, who) -> None:
    secret = f"vapi-{secrets.token_hex(12)}"
    created = await create(
        client,
        who["owner"],
        vapi(
            secret, phoneNumber="020 123 4567", externalAccountId="org_1", settings={"mode": "say"}
        ),
    )
    assert created["inboundUrl"] == f"http://testserver/api/ai/voice/webhook/{created['id']}"
    assert created["phoneNumber"] == "+31201234567"  # the shop's country, in E.164
    assert created["externalAccountId"] == "org_1"
    assert created["settings"] == {"mode": "say"}
    assert created["secretsSet"] == ["serverSecret"]
    assert "secrets" not in created
    assert set(created) == {
        "id",
        "provider",
        "kind",
        "externalAccountId",
        "phoneNumber",
        "settings",
        "status",
        "secretsSet",
        "inboundUrl",
        "createdAt",
        "updatedAt",
    }


async def test_support_integrations_get_the_support_url(client, who) -> None:
    created = await create(
        client,
        who["owner"],
        {"provider": "chatwoot", "kind": "support", "secrets": {"webhookSecret": "cw-1"}},
    )
    assert created["inboundUrl"].endswith(f"/api/ai/support/webhook/{created['id']}")


async def test_public_base_url_is_the_inbound_urls_origin(app, client, who) -> None:
    app.state.settings.webhooks.public_base_url = "https://ai.example.com/"
    try:
        created = await create(client, who["owner"], vapi())
    finally:
        app.state.settings.webhooks.public_base_url = None
    assert created["inboundUrl"] == f"https://ai.example.com/api/ai/voice/webhook/{created['id']}"


# --- secrets at rest --------------------------------------------------------------------------


async def test_secrets_are_sealed_at_rest_and_open_with_the_keyring(client, who, db) -> None:
    secret = f"vapi-{secrets.token_hex(12)}"
    created = await create(client, who["owner"], vapi(secret))
    row = await db.scalar(select(Integration).where(Integration.id == created["id"]))
    assert row is not None and row.secrets_ciphertext is not None
    assert secret.encode() not in row.secrets_ciphertext
    assert row.secrets_key_id == "development"  # tests run without DATA_ENCRYPTION_KEY
    assert open_secrets(row, Keyring.development()) == {"serverSecret": secret}


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"provider": "twilio", "kind": "support", "secrets": {"authToken": "t"}}, "kind"),
        ({"provider": "chatwoot", "kind": "voice", "secrets": {"webhookSecret": "s"}}, "kind"),
        (vapi(phoneNumber="12"), "phoneNumber"),
        (vapi(phoneNumber="not a number"), "phoneNumber"),
        (
            {
                "provider": "zendesk",
                "kind": "support",
                "phoneNumber": "+31201234567",
                "secrets": {"webhookSecret": "s"},
            },
            "phoneNumber",
        ),
        ({"provider": "vapi", "kind": "voice", "secrets": {}}, "secrets.serverSecret"),
        (
            {"provider": "vapi", "kind": "voice", "secrets": {"serverSecret": "s", "apiKey": "x"}},
            "secrets.apiKey",
        ),
        (
            {"provider": "lilli", "kind": "voice", "secrets": {"webhookSecret": "not base64!"}},
            "secrets.webhookSecret",
        ),
        ({"provider": "vapi", "kind": "voice"}, "secrets"),
        ({"provider": "skype", "kind": "voice", "secrets": {}}, "provider"),
        (vapi(status="paused"), "status"),
        (vapi(settings={"big": "x" * 17_000}), "settings"),
        (vapi(secrets={"serverSecret": ""}), "secrets.serverSecret"),
    ],
)
async def test_invalid_bodies_are_422_with_the_field(client, who, body, field) -> None:
    response = await client.post(URL, json=body, headers=who["owner"])
    assert response.status_code == 422, response.text
    assert (f"body.{field}" if field else "body") in fields_of(response)


async def test_a_number_belongs_to_one_shop(client, who, db) -> None:
    other = await create_shop(db)
    await create_integration(db, other, "twilio", phoneNumber="+31201234567")
    taken = await client.post(URL, json=vapi(phoneNumber="+31 20 123 4567"), headers=who["owner"])
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "phone_number_taken"
    assert str(other.id) not in taken.text


# --- change and delete ------------------------------------------------------------------------


async def test_patch_changes_only_what_is_sent(client, who, db) -> None:
    created = await create(
        client,
        who["owner"],
        {
            "provider": "chatwoot",
            "kind": "support",
            "externalAccountId": "7",
            "settings": {"inbox": 3},
            "secrets": {"webhookSecret": "cw-old", "apiAccessToken": "cw-token"},
        },
    )
    url = f"{URL}/{created['id']}"
    changed = await client.patch(
        url,
        json={"status": "disabled", "secrets": {"webhookSecret": "cw-new"}},
        headers=who["writer"],
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["status"] == "disabled"
    assert body["settings"] == {"inbox": 3} and body["externalAccountId"] == "7"
    assert body["secretsSet"] == ["apiAccessToken", "webhookSecret"]
    row = await db.scalar(select(Integration).where(Integration.id == created["id"]))
    await db.refresh(row)
    assert open_secrets(row, Keyring.development()) == {
        "webhookSecret": "cw-new",
        "apiAccessToken": "cw-token",
    }

    removed = await client.patch(
        url,
        json={"externalAccountId": None, "secrets": {"apiAccessToken": None}},
        headers=who["owner"],
    )
    assert removed.json()["externalAccountId"] is None
    assert removed.json()["secretsSet"] == ["webhookSecret"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"secrets": {"webhookSecret": None}}, "secrets.webhookSecret"),
        ({"secrets": {"authToken": "x"}}, "secrets.authToken"),
        ({"settings": None}, ""),
        ({"status": None}, ""),
        ({"provider": "twilio"}, "provider"),
        ({"phoneNumber": "+31201234567"}, "phoneNumber"),
    ],
)
async def test_invalid_patches_are_422(client, who, db, body, field) -> None:
    created = await create(
        client,
        who["owner"],
        {"provider": "zendesk", "kind": "support", "secrets": {"webhookSecret": "zd"}},
    )
    response = await client.patch(f"{URL}/{created['id']}", json=body, headers=who["owner"])
    assert response.status_code == 422, response.text
    assert (f"body.{field}" if field else "body") in fields_of(response)


async def test_a_voice_number_can_be_moved_and_removed(client, who) -> None:
    first = await create(client, who["owner"], vapi(phoneNumber="+31201234567"))
    second = await create(client, who["owner"], vapi())
    taken = await client.patch(
        f"{URL}/{second['id']}", json={"phoneNumber": "+31201234567"}, headers=who["owner"]
    )
    assert taken.status_code == 409
    cleared = await client.patch(
        f"{URL}/{first['id']}", json={"phoneNumber": None}, headers=who["owner"]
    )
    assert cleared.json()["phoneNumber"] is None
    moved = await client.patch(
        f"{URL}/{second['id']}", json={"phoneNumber": "+31201234567"}, headers=who["owner"]
    )
    assert moved.json()["phoneNumber"] == "+31201234567"


async def test_delete_then_it_is_gone(client, who) -> None:
    created = await create(client, who["owner"], vapi())
    url = f"{URL}/{created['id']}"
    assert (await client.delete(url, headers=who["writer"])).status_code == 204
    for method in ("GET", "DELETE"):
        gone = await client.request(method, url, headers=who["owner"])
        assert gone.status_code == 404
        assert gone.json()["error"]["code"] == "integration_not_found"


async def test_another_shops_integration_is_404_everywhere(client, who, db) -> None:
    theirs = await create_integration(db, await create_shop(db))
    url = f"{URL}/{theirs.id}"
    for method, body in (("GET", None), ("PATCH", {"status": "disabled"}), ("DELETE", None)):
        response = await client.request(method, url, json=body, headers=who["owner"])
        assert response.status_code == 404
    assert (await client.get(f"{URL}/not-an-id", headers=who["owner"])).status_code == 404


# --- the list -------------------------------------------------------------------------------


async def test_list_pages_newest_first_and_filters(client, who, db) -> None:
    await create_integration(db, await create_shop(db))  # another shop's: never listed
    made = [await create(client, who["owner"], vapi()) for _ in range(3)]
    chatwoot = await create(
        client,
        who["owner"],
        {"provider": "chatwoot", "kind": "support", "secrets": {"webhookSecret": "c"}},
    )
    first = (await client.get(URL, params={"limit": 2}, headers=who["reader"])).json()
    assert [item["id"] for item in first["items"]] == [chatwoot["id"], made[2]["id"]]
    rest = (
        await client.get(
            URL, params={"limit": 2, "cursor": first["nextCursor"]}, headers=who["reader"]
        )
    ).json()
    assert [item["id"] for item in rest["items"]] == [made[1]["id"], made[0]["id"]]
    assert rest["nextCursor"] is None
    support = (await client.get(URL, params={"kind": "support"}, headers=who["owner"])).json()
    assert [item["id"] for item in support["items"]] == [chatwoot["id"]]
    voice = (await client.get(URL, params={"provider": "vapi"}, headers=who["owner"])).json()
    assert len(voice["items"]) == 3


# --- write-only, everywhere -------------------------------------------------------------------


@pytest.mark.usefixtures("restore_logging")
async def test_secrets_never_come_back_from_any_route_nor_reach_the_logs(client, who) -> None:
    stream = io.StringIO()
    configure_logging(level="DEBUG", json_output=True, stream=stream)
    secret = f"S3cret-{secrets.token_hex(16)}"
    other = f"Other-{secrets.token_hex(16)}"
    answers: list[str] = []

    created = await client.post(
        URL,
        json={
            "provider": "chatwoot",
            "kind": "support",
            "secrets": {"webhookSecret": secret, "apiAccessToken": other},
        },
        headers=who["owner"],
    )
    url = f"{URL}/{created.json()['id']}"
    answers.append(created.text)
    for response in (
        await client.get(URL, headers=who["owner"]),
        await client.get(url, headers=who["reader"]),
        await client.patch(
            url, json={"secrets": {"webhookSecret": secret + "2"}}, headers=who["owner"]
        ),
        # Errors with the secrets in the request: a bad name, a bad provider, too long.
        await client.patch(url, json={"secrets": {"nope": secret}}, headers=who["owner"]),
        await client.post(
            URL,
            json={"provider": "vapi", "kind": "support", "secrets": {"serverSecret": secret}},
            headers=who["owner"],
        ),
        await client.post(
            URL,
            json={"provider": "vapi", "kind": "voice", "secrets": {"serverSecret": secret * 200}},
            headers=who["owner"],
        ),
        await client.post(
            URL,
            json={"provider": "vapi", "kind": "voice", "secrets": {"serverSecret": [secret]}},
            headers=who["owner"],
        ),
        await client.get(f"/api/ai/support/webhook/{created.json()['id']}"),
    ):
        answers.append(response.text + json.dumps(dict(response.headers)))
    output = stream.getvalue()
    assert "integration_changed" in output  # the lines were written
    for text in (*answers, output):
        for value in (secret, other, secret[:12], other[:12]):
            assert value not in text


# --- the outbound event ----------------------------------------------------------------------


async def test_each_change_records_an_integration_updated_event_without_secrets(
    client: AsyncClient, db, who
) -> None:
    from bloomer_ai.models import WebhookEvent

    created = await create(client, who["owner"], vapi(secret="never-in-an-event-9f8e"))
    patched = await client.patch(
        f"{URL}/{created['id']}", json={"status": "disabled"}, headers=who["owner"]
    )
    assert patched.status_code == 200, patched.text
    deleted = await client.delete(f"{URL}/{created['id']}", headers=who["owner"])
    assert deleted.status_code == 204
    events = (
        await db.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.shop_id == who["shop"].id)
            .order_by(WebhookEvent.created_at, WebhookEvent.id)
        )
    ).all()
    assert [event.type for event in events] == ["integration.updated"] * 3
    assert [event.payload["change"] for event in events] == ["created", "updated", "deleted"]
    assert all(event.payload["id"] == created["id"] for event in events)
    assert "never-in-an-event-9f8e" not in json.dumps([event.payload for event in events])
