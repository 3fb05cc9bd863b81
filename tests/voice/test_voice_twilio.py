"""Twilio voice end to end: requests signed with Twilio's own RequestValidator (both port
forms, the SHA-256 form, PUBLIC_BASE_URL), answers compared with TwiML built by
``twilio.twiml``; the call and its events stored, repeats and bad signatures changing
nothing, an unknown number refused in TwiML with nothing stored."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Connect, VoiceResponse

from bloomer_ai.main import create_app
from bloomer_ai.models import VoiceCall, VoiceCallEvent, WebhookDelivery
from bloomer_ai.web.metrics import UNKNOWN_NUMBERS
from conftest import make_settings
from factories.core import create_customer, create_shop
from factories.integrations import create_integration
from support import signing
from support.voice_calls import (
    BASE,
    CALLER,
    PLATFORM_TWILIO,
    SHOP_NUMBER,
    TWILIO_TOKEN,
    count,
    voice_url,
    voice_webhooks,
)


def twiml(response: VoiceResponse) -> bytes:
    return str(response).encode()


def incoming(**extra: str) -> dict[str, str]:
    return signing.call_params(to=SHOP_NUMBER, From="06 1234 5678", **extra)


async def post(client: AsyncClient, url: str, params: dict[str, str], **kwargs: Any) -> Any:
    body, headers = signing.twilio(TWILIO_TOKEN, BASE + url, params)
    headers.update(kwargs.pop("headers", {}))
    return await client.post(url, content=body, headers=headers, **kwargs)


@pytest.fixture
def settings(database_url) -> Any:
    return make_settings(database_url, webhooks=voice_webhooks())


@pytest.fixture
async def shop(db) -> Any:
    return await create_shop(db, country="NL")


async def twilio_integration(db, shop, number: str = SHOP_NUMBER, **settings: Any) -> Any:
    return await create_integration(
        db, shop, "twilio", phone_number=number, settings=settings or {"mode": "say"}
    )


async def test_say_mode_greets_and_hangs_up_and_the_call_is_stored(client, db, shop) -> None:
    anna = await create_customer(db, shop, name="Anna", phone=CALLER)
    integration = await twilio_integration(db, shop, mode="say", greeting="Welkom bij Bloom!")
    params = incoming()
    answer = await post(client, voice_url(integration), params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/xml")
    expected = VoiceResponse()
    expected.say("Welkom bij Bloom!")
    expected.hangup()
    assert answer.content == twiml(expected)

    call = await db.scalar(select(VoiceCall).where(VoiceCall.shop_id == shop.id))
    assert call is not None
    assert (call.provider, call.provider_call_id, call.direction, call.status) == (
        "twilio",
        params["CallSid"],
        "inbound",
        "ringing",
    )
    assert (call.from_number, call.to_number) == (CALLER, SHOP_NUMBER)  # E.164
    assert call.customer_id == anna.id
    event = await db.scalar(select(VoiceCallEvent).where(VoiceCallEvent.shop_id == shop.id))
    assert event is not None and (event.type, event.call_id) == ("call.incoming", call.id)
    assert "1234" not in str(event.payload)


async def test_forward_mode_dials_the_shop_after_the_greeting(client, db, shop) -> None:
    integration = await twilio_integration(
        db, shop, mode="forward", forwardTo="020 765 4321", greeting="One moment please."
    )
    answer = await post(client, voice_url(integration), incoming())
    expected = VoiceResponse()
    expected.say("One moment please.")
    expected.dial("+31207654321")
    assert answer.content == twiml(expected)

    other = await create_shop(db, country="NL")
    plain = await twilio_integration(db, other, "+31201230000", mode="forward")
    # Without a number to forward to, the caller still hears the greeting.
    fallback = await post(client, voice_url(plain), signing.call_params(to="+31201230000"))
    assert b"<Say>" in fallback.content and b"<Dial>" not in fallback.content


async def test_stream_mode_connects_the_call_to_the_voice_ai(client, db, shop) -> None:
    integration = await twilio_integration(
        db, shop, mode="stream", streamUrl="wss://voice.example.com/stream"
    )
    answer = await post(client, voice_url(integration), incoming())
    expected = VoiceResponse()
    connect = Connect()
    connect.stream(url="wss://voice.example.com/stream")
    expected.append(connect)
    assert answer.content == twiml(expected)


async def test_a_status_callback_ends_the_call_with_an_empty_response(client, db, shop) -> None:
    integration = await twilio_integration(db, shop)
    params = incoming()
    await post(client, voice_url(integration), params)
    done = dict(
        params,
        CallStatus="completed",
        CallDuration="42",
        CallbackSource="call-progress-events",
        SequenceNumber="3",
    )
    answer = await post(client, voice_url(integration), done)
    assert answer.status_code == 200 and answer.content == twiml(VoiceResponse())
    call = await db.scalar(select(VoiceCall).where(VoiceCall.shop_id == shop.id))
    assert call is not None
    assert (call.status, call.duration_seconds, call.ended_reason) == ("ended", 42, "completed")
    assert call.ended_at is not None
    types = (await db.scalars(select(VoiceCallEvent.type).order_by(VoiceCallEvent.id))).all()
    assert list(types) == ["call.incoming", "call.status"]


async def test_a_repeat_by_idempotency_token_gets_the_same_answer_once(client, db, shop) -> None:
    integration = await twilio_integration(db, shop)
    url = voice_url(integration)
    body, headers = signing.twilio(TWILIO_TOKEN, BASE + url, incoming())
    first = await client.post(url, content=body, headers=headers)
    again = await client.post(url, content=body, headers=headers)
    assert again.status_code == 200 and again.content == first.content
    assert await count(db, VoiceCall, shop) == 1
    assert await count(db, VoiceCallEvent, shop) == 1


async def test_bad_or_missing_signatures_are_401_and_store_nothing(client, db, shop) -> None:
    integration = await twilio_integration(db, shop)
    url = voice_url(integration)
    body, headers = signing.twilio(TWILIO_TOKEN, BASE + url, incoming())
    tampered = body.replace(b"ringing", b"completed")
    assert (await client.post(url, content=tampered, headers=headers)).status_code == 401
    other_url, other_headers = signing.twilio("not-the-token", BASE + url, incoming())
    assert (await client.post(url, content=other_url, headers=other_headers)).status_code == 401
    missing = {k: v for k, v in headers.items() if k != "X-Twilio-Signature"}
    assert (await client.post(url, content=body, headers=missing)).status_code == 401
    assert await count(db, VoiceCall, shop) == 0
    assert await count(db, WebhookDelivery, shop) == 0


async def test_the_sha256_form_of_a_webhooks_rule_verifies(client, db, shop) -> None:
    integration = await twilio_integration(db, shop)
    url = voice_url(integration)
    params = incoming()
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        BASE + url, params, algorithm="HMAC_SHA256"
    )
    headers = {
        "Content-Type": signing.FORM,
        "X-Twilio-Signature": signature,
        "X-Twilio-Webhooks-Signature-Settings": "key=KS123,algorithm=HMAC_SHA256",
        "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
    }
    answer = await client.post(url, content=urlencode(params).encode(), headers=headers)
    assert answer.status_code == 200, answer.text
    assert await count(db, VoiceCall, shop) == 1


@pytest.fixture
async def public_client(database_url, database_target, session_factory) -> Any:
    settings = make_settings(
        database_url,
        webhooks=voice_webhooks(public_base_url="https://voice.example.com"),
    )
    app = create_app(settings, database=database_target, session_factory=session_factory)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url=BASE) as client,
    ):
        yield client


@pytest.mark.parametrize(
    "public", ["https://voice.example.com{path}", "https://voice.example.com:443{path}"]
)
async def test_the_public_url_is_what_twilio_signs_in_either_port_form(
    public_client, db, shop, public
) -> None:
    integration = await twilio_integration(db, shop)
    path = voice_url(integration)
    params = incoming()
    body, headers = signing.twilio(TWILIO_TOKEN, public.format(path=path), params)
    answer = await public_client.post(path, content=body, headers=headers)
    assert answer.status_code == 200, answer.text

    # Signed over the address the app sees behind the proxy: not what Twilio called.
    body, headers = signing.twilio(TWILIO_TOKEN, BASE + path, incoming())
    assert (await public_client.post(path, content=body, headers=headers)).status_code == 401


async def test_the_platform_route_finds_the_shop_by_the_called_number(client, db, shop) -> None:
    await twilio_integration(db, shop, mode="say", greeting="Hallo!")
    url = voice_url()
    body, headers = signing.twilio(PLATFORM_TWILIO, BASE + url, incoming())
    answer = await client.post(url, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert b"<Say>Hallo!</Say>" in answer.content
    assert await count(db, VoiceCall, shop) == 1


async def test_an_unknown_number_is_refused_in_twiml_and_nothing_is_stored(client, db) -> None:
    before = UNKNOWN_NUMBERS.labels("voice", "twilio")._value.get()
    url = voice_url()
    params = signing.call_params(to="+31209999999")
    body, headers = signing.twilio(PLATFORM_TWILIO, BASE + url, params)
    answer = await client.post(url, content=body, headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/xml")
    expected = VoiceResponse()
    expected.say("Sorry, the number you have called is not in service.")
    expected.hangup()
    assert answer.content == twiml(expected)
    assert UNKNOWN_NUMBERS.labels("voice", "twilio")._value.get() == before + 1
    assert (await db.scalar(select(VoiceCall.id).limit(1))) is None
    deliveries = await db.scalars(select(WebhookDelivery).where(WebhookDelivery.kind == "voice"))
    assert deliveries.all() == []


@pytest.fixture
async def proxied_client(database_url, database_target, session_factory) -> Any:
    settings = make_settings(database_url, webhooks=voice_webhooks(trust_forwarded_headers=True))
    app = create_app(settings, database=database_target, session_factory=session_factory)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url=BASE) as client,
    ):
        yield client


async def test_forwarded_headers_name_the_public_url_only_when_trusted(
    client, proxied_client, db, shop
) -> None:
    integration = await twilio_integration(db, shop)
    path = voice_url(integration)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "voice.example.com"}
    body, headers = signing.twilio(TWILIO_TOKEN, "https://voice.example.com" + path, incoming())
    trusted = await proxied_client.post(path, content=body, headers={**headers, **forwarded})
    assert trusted.status_code == 200, trusted.text

    body, headers = signing.twilio(TWILIO_TOKEN, "https://voice.example.com" + path, incoming())
    untrusted = await client.post(path, content=body, headers={**headers, **forwarded})
    assert untrusted.status_code == 401
