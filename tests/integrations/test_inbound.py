"""Inbound webhooks: through an integration and on the platform route, signed by each
provider's own library or recipe (support/signing.py); the shop found and checked, the
inbox recording each delivery once with its raw body and answer, handlers run once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select

from bloomer_ai.config import FeatureSettings, RateLimitSettings, WebhookSettings
from bloomer_ai.integrations.inbound.handlers import (
    TWIML_EMPTY,
    InboundEvent,
    InboundHandlers,
    InboundReply,
)
from bloomer_ai.main import create_app
from bloomer_ai.models import WebhookDelivery
from conftest import make_settings
from factories.core import create_shop
from factories.integrations import DEFAULT_SECRETS, create_integration
from support import signing

PLATFORM_TWILIO = "platform-twilio-token-31c7"
PLATFORM_VAPI = "platform-vapi-secret-8d02"
PLATFORM_VOICE = "whsec_cGxhdGZvcm0tdm9pY2UtbGlsbGktc2VjcmV0"
PLATFORM_SUPPORT = "whsec_cGxhdGZvcm0tc3VwcG9ydC1saWxsaS1zZWNyZXQ="
PLATFORM_CHATWOOT = "platform-chatwoot-secret-e4a9"
BASE = "http://testserver"


def platform_settings(**overrides: Any) -> WebhookSettings:
    values: dict[str, Any] = {
        "twilio_auth_token": PLATFORM_TWILIO,
        "vapi_server_secret": PLATFORM_VAPI,
        "voice_webhook_secret": PLATFORM_VOICE,
        "support_webhook_secret": PLATFORM_SUPPORT,
        "chatwoot_webhook_secret": PLATFORM_CHATWOOT,
        "zendesk_webhook_secret": None,
        "_env_file": None,
    }
    values.update(overrides)
    return WebhookSettings(**values)


@pytest.fixture
async def inbound(database_url, database_target, session_factory) -> AsyncIterator[Any]:
    settings = make_settings(
        database_url,
        webhooks=platform_settings(),
        ratelimit=RateLimitSettings(ratelimit_auth_failures="3/minute", _env_file=None),
    )
    app = create_app(settings, database=database_target, session_factory=session_factory)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(inbound) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=inbound), base_url=BASE) as c:
        yield c


class Recorder:
    """A handler that counts what it is given and answers as told."""

    def __init__(self, reply: InboundReply | None = None) -> None:
        self.events: list[InboundEvent] = []
        self.reply = reply or InboundReply(200, b'{"handled":true}', "application/json")

    async def __call__(self, session: Any, event: InboundEvent) -> InboundReply:
        self.events.append(event)
        return self.reply


def record(app: Any, kind: str, provider: str, reply: InboundReply | None = None) -> Recorder:
    recorder = Recorder(reply)
    handlers: InboundHandlers = app.state.inbound_handlers
    handlers.register(kind, provider, recorder, replace=True)  # type: ignore[arg-type]
    return recorder


async def deliveries(db, shop_id: uuid.UUID | None = None) -> list[WebhookDelivery]:
    statement = select(WebhookDelivery).order_by(WebhookDelivery.received_at)
    if shop_id is not None:
        statement = statement.where(WebhookDelivery.shop_id == shop_id)
    return list((await db.scalars(statement)).all())


def voice_url(integration_id: Any = None) -> str:
    return f"/api/ai/voice/webhook/{integration_id}" if integration_id else "/api/ai/voice/webhook"


def support_url(integration_id: Any = None) -> str:
    return (
        f"/api/ai/support/webhook/{integration_id}" if integration_id else "/api/ai/support/webhook"
    )


# --- through an integration ------------------------------------------------------------------


async def test_twilio_through_its_integration_once(inbound, client, db) -> None:
    shop = await create_shop(db)
    twilio = await create_integration(db, shop, "twilio", phone_number="+31201234567")
    recorder = record(inbound, "voice", "twilio")
    url = voice_url(twilio.id)
    body, headers = signing.twilio(
        DEFAULT_SECRETS["twilio"]["authToken"], BASE + url, signing.call_params()
    )

    first = await client.post(url, content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"handled": True}
    assert '"webhooks"' in first.headers["ratelimit-policy"]
    again = await client.post(url, content=body, headers=headers)
    assert again.status_code == 200 and again.content == first.content

    assert len(recorder.events) == 1  # the repeat had no second effect
    event = recorder.events[0]
    assert (event.shop_id, event.integration_id, event.kind) == (shop.id, twilio.id, "voice")
    assert event.delivery_id == headers["I-Twilio-Idempotency-Token"]
    assert event.called_number == "+31201234567"
    assert event.form is not None and event.payload["From"] == "+31612345678"
    (row,) = await deliveries(db, shop.id)
    assert row.provider == "twilio"
    assert row.delivery_id == f"{twilio.id}:{headers['I-Twilio-Idempotency-Token']}"
    assert row.raw_body == body and row.content_type == signing.FORM
    assert (row.kind, row.integration_id) == ("voice", twilio.id)
    assert (row.response_status, row.response_body) == (200, b'{"handled":true}')


async def test_without_a_handler_the_delivery_is_recorded_and_acknowledged(
    inbound, client, db
) -> None:
    inbound.state.inbound_handlers = InboundHandlers()  # as before any feature registers
    shop = await create_shop(db)
    twilio = await create_integration(db, shop, "twilio")
    url = voice_url(twilio.id)
    body, headers = signing.twilio(
        DEFAULT_SECRETS["twilio"]["authToken"], BASE + url, signing.call_params()
    )
    answer = await client.post(url, content=body, headers=headers)
    assert answer.status_code == 200
    assert answer.content == TWIML_EMPTY
    assert answer.headers["content-type"].startswith("text/xml")
    (row,) = await deliveries(db, shop.id)
    assert row.raw_body == body and row.response_body == TWIML_EMPTY


@pytest.mark.parametrize("sign", [signing.vapi_secret, signing.vapi_hmac])
async def test_vapi_through_its_integration(inbound, client, db, sign) -> None:
    shop = await create_shop(db)
    vapi = await create_integration(db, shop, "vapi")
    payload = signing.vapi_message()
    body, headers = sign(DEFAULT_SECRETS["vapi"]["serverSecret"], payload)
    first = await client.post(voice_url(vapi.id), content=body, headers=headers)
    assert first.status_code == 200 and first.json() == {}
    again = await client.post(voice_url(vapi.id), content=body, headers=headers)
    assert again.content == first.content
    (row,) = await deliveries(db, shop.id)
    message = payload["message"]
    assert row.delivery_id == (
        f"{vapi.id}:{message['call']['id']}:{message['type']}:{message['timestamp']}"
    )


@pytest.mark.parametrize(
    ("provider", "sign", "payload"),
    [
        ("chatwoot", signing.chatwoot, {"event": "message_created", "account": {"id": 7}}),
        ("zendesk", signing.zendesk, {"type": "ticket.created", "ticketId": 12}),
        ("lilli", signing.standard, {"type": "handoff.requested", "data": {}}),
    ],
)
async def test_support_providers_through_their_integrations(
    inbound, client, db, provider, sign, payload
) -> None:
    shop = await create_shop(db)
    integration = await create_integration(db, shop, provider, kind="support")
    recorder = record(inbound, "support", provider)
    body, headers = sign(DEFAULT_SECRETS[provider]["webhookSecret"], payload)
    answer = await client.post(support_url(integration.id), content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert len(recorder.events) == 1 and recorder.events[0].payload == payload
    (row,) = await deliveries(db, shop.id)
    delivery_header = {
        "chatwoot": "X-Chatwoot-Delivery",
        "zendesk": "X-Zendesk-Webhook-Invocation-Id",
        "lilli": "webhook-id",
    }[provider]
    assert row.delivery_id == f"{integration.id}:{headers[delivery_header]}"


async def test_a_rotated_secret_still_verifies(client, db) -> None:
    shop = await create_shop(db)
    integration = await create_integration(
        db, shop, "chatwoot", secrets={"webhookSecret": "cw-new, cw-old"}
    )
    for secret in ("cw-new", "cw-old"):
        body, headers = signing.chatwoot(secret, {"event": "conversation_created"})
        answer = await client.post(support_url(integration.id), content=body, headers=headers)
        assert answer.status_code == 200


async def _refused(client, url: str, body: bytes, headers: dict[str, str]) -> None:
    answer = await client.post(url, content=body, headers=headers)
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == "unauthorized"
    assert answer.headers["www-authenticate"]


async def test_what_does_not_verify_is_401_and_stores_nothing(client, db) -> None:
    shop = await create_shop(db)
    twilio = await create_integration(db, shop, "twilio")
    chatwoot = await create_integration(db, shop, "chatwoot")
    disabled = await create_integration(db, shop, "vapi", status="disabled")
    token = DEFAULT_SECRETS["twilio"]["authToken"]
    url = voice_url(twilio.id)

    body, headers = signing.twilio("another-token", BASE + url, signing.call_params())
    await _refused(client, url, body, headers)  # signed with another secret
    body, headers = signing.twilio(token, BASE + url, signing.call_params())
    await _refused(client, url, body + b"&Digits=1", headers)  # tampered
    await _refused(client, url, body, {"Content-Type": signing.FORM})  # unsigned
    await _refused(client, voice_url(uuid.uuid4()), body, headers)  # no such integration
    await _refused(client, voice_url("not-an-id"), body, headers)
    cw_body, cw_headers = signing.chatwoot(DEFAULT_SECRETS["chatwoot"]["webhookSecret"], {})
    await _refused(client, voice_url(chatwoot.id), cw_body, cw_headers)  # a support integration
    vapi_body, vapi_headers = signing.vapi_secret(
        DEFAULT_SECRETS["vapi"]["serverSecret"], signing.vapi_message()
    )
    await _refused(client, voice_url(disabled.id), vapi_body, vapi_headers)  # switched off
    assert await deliveries(db, shop.id) == []


async def test_a_payload_naming_another_shop_is_403_and_stores_nothing(inbound, client, db) -> None:
    shop, other = await create_shop(db), await create_shop(db)
    lilli = await create_integration(db, shop, "lilli", kind="voice")
    twilio = await create_integration(db, shop, "twilio")
    await create_integration(db, other, "twilio", phone_number="+31207654321")
    recorder = record(inbound, "voice", "lilli")
    secret = DEFAULT_SECRETS["lilli"]["webhookSecret"]

    for payload in (
        {"type": "call.started", "shopId": str(other.id)},
        {"type": "call.started", "data": {"shopId": str(uuid.uuid4())}},
        {"type": "call.started", "shopId": "not-a-shop"},
    ):
        body, headers = signing.standard(secret, payload)
        refused = await client.post(voice_url(lilli.id), content=body, headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "delivery_names_another_shop"

    # A call to a number that is another shop's.
    url = voice_url(twilio.id)
    body, headers = signing.twilio(
        DEFAULT_SECRETS["twilio"]["authToken"], BASE + url, signing.call_params(to="+31207654321")
    )
    assert (await client.post(url, content=body, headers=headers)).status_code == 403
    assert recorder.events == []
    assert await deliveries(db, shop.id) == [] and await deliveries(db, other.id) == []

    # Naming its own shop is fine.
    body, headers = signing.standard(secret, {"type": "call.started", "shopId": str(shop.id)})
    assert (
        await client.post(voice_url(lilli.id), content=body, headers=headers)
    ).status_code == 200


async def test_a_handler_that_fails_leaves_nothing_and_the_retry_runs(inbound, client, db):
    shop = await create_shop(db)
    vapi = await create_integration(db, shop, "vapi")
    calls: list[InboundEvent] = []

    async def flaky(session: Any, event: InboundEvent) -> InboundReply:
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("the effect failed")
        return InboundReply(200, b'{"results":[]}')

    inbound.state.inbound_handlers.register("voice", "vapi", flaky, replace=True)
    body, headers = signing.vapi_secret(
        DEFAULT_SECRETS["vapi"]["serverSecret"], signing.vapi_message("tool-calls")
    )
    with pytest.raises(RuntimeError):
        await client.post(voice_url(vapi.id), content=body, headers=headers)
    assert await deliveries(db, shop.id) == []
    retried = await client.post(voice_url(vapi.id), content=body, headers=headers)
    assert retried.json() == {"results": []}
    assert len(calls) == 2 and len(await deliveries(db, shop.id)) == 1


async def test_failures_count_per_address_and_source(client, db) -> None:
    """A shop whose provider sends with a wrong secret (from an address every shop's
    deliveries share) is limited on its own integration only."""
    shop = await create_shop(db)
    broken = await create_integration(db, shop, "chatwoot")
    working = await create_integration(db, shop, "chatwoot")
    body, headers = signing.chatwoot("a-wrong-secret", {})
    statuses = [
        (await client.post(support_url(broken.id), content=body, headers=headers)).status_code
        for _ in range(5)
    ]
    assert statuses[:3] == [401, 401, 401] and statuses[-1] == 429
    good_body, good_headers = signing.chatwoot(DEFAULT_SECRETS["chatwoot"]["webhookSecret"], {})
    answer = await client.post(support_url(working.id), content=good_body, headers=good_headers)
    assert answer.status_code == 200


async def test_a_switched_off_feature_is_404(database_url, database_target, session_factory, db):
    shop = await create_shop(db)
    vapi = await create_integration(db, shop, "vapi")
    settings = make_settings(
        database_url, features=FeatureSettings(ai_voice_enabled=False, _env_file=None)
    )
    app = create_app(settings, database=database_target, session_factory=session_factory)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url=BASE) as client,
    ):
        body, headers = signing.vapi_secret(
            DEFAULT_SECRETS["vapi"]["serverSecret"], signing.vapi_message()
        )
        for url in (voice_url(vapi.id), voice_url()):
            answer = await client.post(url, content=body, headers=headers)
            assert answer.status_code == 404
            assert answer.json()["error"]["code"] == "feature_disabled"


# --- the platform route --------------------------------------------------------------------


async def test_platform_twilio_finds_the_shop_by_the_called_number(inbound, client, db) -> None:
    shop = await create_shop(db)
    twilio = await create_integration(db, shop, "twilio", phone_number="+31201234567")
    recorder = record(inbound, "voice", "twilio")
    body, headers = signing.twilio(PLATFORM_TWILIO, BASE + voice_url(), signing.call_params())
    answer = await client.post(voice_url(), content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    (event,) = recorder.events
    assert (event.shop_id, event.integration_id) == (shop.id, twilio.id)
    (row,) = await deliveries(db, shop.id)
    assert row.delivery_id == f"platform-voice:{headers['I-Twilio-Idempotency-Token']}"
    # An outbound call's own number is its From.
    outbound = signing.call_params(to="+31699999999", From="+31201234567", Direction="outbound-api")
    body, headers = signing.twilio(PLATFORM_TWILIO, BASE + voice_url(), outbound)
    assert (await client.post(voice_url(), content=body, headers=headers)).status_code == 200
    assert recorder.events[-1].shop_id == shop.id


async def test_platform_lilli_finds_the_shop_the_signed_payload_names(inbound, client, db):
    shop = await create_shop(db)
    recorder = record(inbound, "support", "lilli")
    body, headers = signing.standard(
        PLATFORM_SUPPORT, {"type": "ticket.created", "shopId": str(shop.id)}
    )
    answer = await client.post(support_url(), content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert recorder.events[0].shop_id == shop.id
    assert recorder.events[0].integration_id is None


async def test_platform_chatwoot_finds_the_shop_by_its_account(inbound, client, db) -> None:
    shop = await create_shop(db)
    chatwoot = await create_integration(db, shop, "chatwoot", external_account_id="7")
    recorder = record(inbound, "support", "chatwoot")
    body, headers = signing.chatwoot(
        PLATFORM_CHATWOOT, {"event": "message_created", "account": {"id": 7, "name": "Fleur"}}
    )
    assert (await client.post(support_url(), content=body, headers=headers)).status_code == 200
    assert recorder.events[0].integration_id == chatwoot.id
    # An account two shops claim does not tell the shop.
    await create_integration(db, await create_shop(db), "chatwoot", external_account_id="7")
    body, headers = signing.chatwoot(PLATFORM_CHATWOOT, {"event": "x", "account": {"id": 7}})
    answer = await client.post(support_url(), content=body, headers=headers)
    assert answer.status_code == 404


async def test_platform_refusals(client, db) -> None:
    shop, other = await create_shop(db), await create_shop(db)
    await create_integration(db, other, "twilio", phone_number="+31201234567")

    async def status_of(url: str, signed: tuple[bytes, dict[str, str]]) -> tuple[int, str]:
        answer = await client.post(url, content=signed[0], headers=signed[1])
        return answer.status_code, answer.json()["error"]["code"]

    def lilli(payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        return signing.standard(PLATFORM_VOICE, payload)

    # No shop: none named, no number, unknown shop, a shop id that is no id.
    assert await status_of(voice_url(), lilli({"type": "x"})) == (404, "shop_not_found")
    assert await status_of(voice_url(), lilli({"shopId": str(uuid.uuid4())})) == (
        404,
        "shop_not_found",
    )
    assert await status_of(voice_url(), lilli({"shopId": "nope"})) == (404, "shop_not_found")
    # Two shops: the named one and the called number's.
    assert await status_of(
        voice_url(), lilli({"shopId": str(shop.id), "calledNumber": "+31 20 123 4567"})
    ) == (403, "delivery_names_another_shop")
    assert await status_of(
        voice_url(), lilli({"shopId": str(shop.id), "data": {"shopId": str(other.id)}})
    ) == (403, "delivery_names_another_shop")
    # Signed with another secret; a provider this route does not take; no signature at all.
    assert await status_of(voice_url(), signing.standard(PLATFORM_SUPPORT, {})) == (
        401,
        "unauthorized",
    )
    chatwoot_on_voice = signing.chatwoot(PLATFORM_CHATWOOT, {"account": {"id": 1}})
    assert await status_of(voice_url(), chatwoot_on_voice) == (401, "unauthorized")
    assert await status_of(voice_url(), (b"{}", {"Content-Type": "application/json"})) == (
        401,
        "unauthorized",
    )
    # A provider whose platform secret is not configured is off (ZENDESK_WEBHOOK_SECRET).
    assert await status_of(support_url(), signing.zendesk("any", {"shopId": str(shop.id)})) == (
        401,
        "unauthorized",
    )
    assert await deliveries(db, shop.id) == [] and await deliveries(db, other.id) == []


async def test_a_delivery_id_another_shop_holds_is_409(inbound, client, db) -> None:
    """Platform ids are the platform's: the same id for two shops is refused, not mixed."""
    shop, other = await create_shop(db), await create_shop(db)
    await create_integration(db, shop, "twilio", phone_number="+31201234567")
    await create_integration(db, other, "twilio", phone_number="+31207654321")
    body, headers = signing.twilio(PLATFORM_TWILIO, BASE + voice_url(), signing.call_params())
    assert (await client.post(voice_url(), content=body, headers=headers)).status_code == 200
    token = headers["I-Twilio-Idempotency-Token"]
    body, headers = signing.twilio(
        PLATFORM_TWILIO, BASE + voice_url(), signing.call_params(to="+31207654321")
    )
    headers["I-Twilio-Idempotency-Token"] = token
    answer = await client.post(voice_url(), content=body, headers=headers)
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "delivery_id_taken"
    assert await deliveries(db, other.id) == []
