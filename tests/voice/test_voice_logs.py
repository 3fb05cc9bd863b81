"""No phone number, e-mail or words spoken in the logs after full calls from each
provider (an order taken on one of them), in both log formats."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest

from bloomer_ai.logging import configure_logging
from conftest import make_settings
from factories.core import create_customer, create_shop
from factories.integrations import create_integration
from support import signing
from support.auth import issue_key, key_headers
from support.voice_calls import (
    BASE,
    LILLI_SECRET,
    SHOP_NUMBER,
    TWILIO_TOKEN,
    VAPI_SECRET,
    lilli,
    vapi,
    vapi_call,
    vapi_tool_calls,
    voice_url,
    voice_webhooks,
)

CALLER_SPELLINGS = ("+31687651234", "06 8765 1234", "687651234", "87651234")
EMAIL = "marieke.bloem@example.test"
WORDS = "tulpen voor mijn moeder"


@pytest.fixture
def settings(database_url) -> Any:
    return make_settings(database_url, webhooks=voice_webhooks())


async def full_calls(client, db) -> None:
    shop = await create_shop(db, country="NL")
    await create_customer(db, shop, name="Marieke Bloem", phone=CALLER_SPELLINGS[0], email=EMAIL)
    twilio = await create_integration(db, shop, "twilio", phone_number=SHOP_NUMBER)
    vapi_integration = await create_integration(db, shop, "vapi", phone_number="+31201234568")
    lilli_integration = await create_integration(db, shop, "lilli", phone_number="+31201234569")
    _, secret = await issue_key(db, shop, ["voice:orders", "voice:events"])

    url = voice_url(twilio)
    params = signing.call_params(to=SHOP_NUMBER, From=CALLER_SPELLINGS[1])
    for extra in ({}, {"CallStatus": "completed", "CallDuration": "30"}):
        body, headers = signing.twilio(TWILIO_TOKEN, BASE + url, {**params, **extra})
        assert (await client.post(url, content=body, headers=headers)).status_code == 200

    call = vapi_call()
    messages = [
        vapi("assistant-request", call, customer={"number": CALLER_SPELLINGS[0], "email": EMAIL}),
        vapi_tool_calls(call, ("find_order", {"phone": CALLER_SPELLINGS[1], "email": EMAIL})),
        vapi(
            "end-of-call-report",
            call,
            customer={"number": CALLER_SPELLINGS[0]},
            endedReason="customer-ended-call",
            artifact={"transcript": f"User: {WORDS}, mail {EMAIL}, call {CALLER_SPELLINGS[1]}"},
            analysis={"summary": f"Wants {WORDS}"},
        ),
    ]
    for payload in messages:
        body, headers = signing.vapi_secret(VAPI_SECRET, payload)
        answer = await client.post(voice_url(vapi_integration), content=body, headers=headers)
        assert answer.status_code == 200, answer.text

    order = await client.post(
        "/api/ai/voice/orders",
        json={
            "items": [{"productType": "bouquet", "name": "Tulpen"}],
            "customer": {"phone": CALLER_SPELLINGS[1], "name": "Marieke Bloem"},
        },
        headers=key_headers(secret),
    )
    assert order.status_code == 201, order.text

    call_id = f"lc_{uuid.uuid4().hex}"
    for payload in (
        lilli("call.started", call_id),
        lilli("call.transcript", call_id, transcript=f"{WORDS} {EMAIL}"),
        lilli(
            "tool.called",
            call_id,
            toolCallId="t1",
            name="place_order",
            arguments={"customerPhone": CALLER_SPELLINGS[1]},
        ),
        lilli("call.ended", call_id, summary=WORDS, durationSeconds=12),
    ):
        payload["callerNumber"] = CALLER_SPELLINGS[0]
        payload["calledNumber"] = "+31201234569"
        body, headers = signing.standard(LILLI_SECRET, payload)
        answer = await client.post(voice_url(lilli_integration), content=body, headers=headers)
        assert answer.status_code == 200, answer.text


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("json_output", [True, False])
async def test_no_personal_data_in_the_logs_of_full_calls(client, db, json_output) -> None:
    stream = io.StringIO()
    configure_logging(level="DEBUG", json_output=json_output, stream=stream)
    await full_calls(client, db)
    output = stream.getvalue()
    assert "voice_event_recorded" in output and "voice_order_placed" in output
    for spelling in CALLER_SPELLINGS:
        assert spelling not in output
    assert "87651234" not in output and "8765 1234" not in output
    assert EMAIL not in output and "marieke" not in output.lower()
    assert WORDS not in output and "tulpen" not in output.lower()
