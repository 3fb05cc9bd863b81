"""Each support platform's module on its own: the interface (verify, delivery id, map to
our event) against signatures made by standardwebhooks and Chatwoot's and Zendesk's
documented recipes."""

from __future__ import annotations

from typing import Any

import pytest

from bloomer_ai.integrations.inbound.providers import RawDelivery
from bloomer_ai.routing.engine.validation import validate_rule_conditions
from bloomer_ai.support.providers import PROVIDERS
from bloomer_ai.support.service import SUPPORT_VARIABLES
from bloomer_ai.webhooks.verify import WebhookVerificationError
from support import signing

SECRETS = {
    "lilli": "whsec_bGlsbGktd2ViaG9vay1zZWNyZXQtZm9yLXRlc3Rz",
    "chatwoot": "chatwoot-secret",
    "zendesk": "zendesk-secret",
}
SIGNERS: dict[str, Any] = {
    "lilli": signing.standard,
    "chatwoot": signing.chatwoot,
    "zendesk": signing.zendesk,
}
ID_HEADERS = {
    "lilli": "webhook-id",
    "chatwoot": "X-Chatwoot-Delivery",
    "zendesk": "X-Zendesk-Webhook-Invocation-Id",
}
PAYLOAD = {"type": "ticket.created", "channel": "email", "conversationId": "c-1", "data": {}}


def raw(body: bytes, headers: dict[str, str]) -> RawDelivery:
    lowered = {k.lower(): v for k, v in headers.items()}
    return RawDelivery(lowered, body, "http://testserver/x", lowered["content-type"])


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_verify_and_delivery_id(name: str) -> None:
    provider = PROVIDERS[name]
    body, headers = SIGNERS[name](SECRETS[name], PAYLOAD)
    delivery = raw(body, headers)
    assert provider.verify([SECRETS[name]], delivery, tolerance_s=300) == headers[ID_HEADERS[name]]
    assert provider.delivery_id(delivery.headers, body) == headers[ID_HEADERS[name]]
    # Rotation: any of several secrets verifies.
    other = "whsec_b2xkLXNlY3JldC1vbGQtb2xkLW9sZA==" if name == "lilli" else "old-secret"
    assert provider.verify([other, SECRETS[name]], delivery, tolerance_s=300)
    with pytest.raises(WebhookVerificationError):
        provider.verify([other], delivery, tolerance_s=300)
    with pytest.raises(WebhookVerificationError):
        provider.verify([SECRETS[name]], raw(body + b" ", headers), tolerance_s=300)


def test_mapping_keeps_no_personal_data_in_facts() -> None:
    chatwoot = PROVIDERS["chatwoot"].to_event(
        {
            "event": "message_created",
            "content": "call me on +31612345678",
            "message_type": "incoming",
            "conversation": {
                "id": 5,
                "channel": "Channel::TwilioSms",
                "additional_attributes": {"medium": "whatsapp"},
                "meta": {"sender": {"phone_number": "+31612345678", "email": "a@b.test"}},
            },
        }
    )
    assert (chatwoot.type, chatwoot.channel, chatwoot.conversation_id) == (
        "message.created",
        "whatsapp",
        "5",
    )
    assert chatwoot.phone == "+31612345678" and chatwoot.email == "a@b.test"  # for matching
    assert "+3161" not in str(chatwoot.facts) and "a@b.test" not in str(chatwoot.facts)
    assert chatwoot.facts["textLength"] == len("call me on +31612345678")


def test_the_routing_validator_reads_the_support_variables() -> None:
    ok = {"and": [{"==": [{"var": "type"}, "csat.submitted"]}, {"var": "shopOpen"}]}
    assert validate_rule_conditions(ok, variables=SUPPORT_VARIABLES) == []
    faults = validate_rule_conditions({"var": "deliveryZone"}, variables=SUPPORT_VARIABLES)
    assert faults and "support event" in faults[0].message
    assert validate_rule_conditions({"var": "deliveryZone"}) == []  # routing's own, unchanged
