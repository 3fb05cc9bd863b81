"""Chatwoot and Zendesk signatures, made here the way each sender makes them.

Neither ships a verification library; the signing recipes are the providers' own
(../shared/reference/PROVIDERS.md §B.1): Chatwoot (PR chatwoot/chatwoot#13573)
``"sha256=" + hex(HMAC-SHA256(secret, "{timestamp}.{body}"))`` with a unix-seconds
timestamp; Zendesk ``base64(HMAC-SHA256(secret, timestamp + body))`` with an ISO-8601
timestamp and no separator.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from bloomer_ai.webhooks.verify import (
    WebhookVerificationError,
    verify_chatwoot,
    verify_zendesk,
)

NOW = 1_790_000_000.0
BODY = b'{"event":"message_created","id":42,"content":"Hoi","account":{"id":7}}'
SECRET = "cw-secret-2f8a"
OLD_SECRET = "cw-secret-old-91b0"


def now() -> float:
    return NOW


def chatwoot_headers(secret: str = SECRET, body: bytes = BODY, at: float = NOW) -> dict[str, str]:
    timestamp = str(int(at))
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {
        "X-Chatwoot-Signature": "sha256=" + digest.hexdigest(),
        "X-Chatwoot-Timestamp": timestamp,
        "X-Chatwoot-Delivery": "3d9a7f1e-0c55-4d7b-9d59-1f5c8f0b2a11",
    }


def zendesk_headers(secret: str = SECRET, body: bytes = BODY, at: float = NOW) -> dict[str, str]:
    timestamp = datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return {
        "X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
        "X-Zendesk-Webhook-Invocation-Id": "8417264512345",
    }


def code(call) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        call()
    return caught.value.code


# --- Chatwoot -------------------------------------------------------------------------------


def test_chatwoot_valid_delivery() -> None:
    verify_chatwoot([SECRET], chatwoot_headers(), BODY, now=now)


def test_chatwoot_lower_case_headers_and_rotation() -> None:
    headers = {name.lower(): value for name, value in chatwoot_headers(OLD_SECRET).items()}
    verify_chatwoot([SECRET, OLD_SECRET], headers, BODY, now=now)


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        (chatwoot_headers(), BODY.replace(b"Hoi", b"Hai"), "bad_signature"),
        (chatwoot_headers(OLD_SECRET), BODY, "bad_signature"),
        ({**chatwoot_headers(), "X-Chatwoot-Timestamp": str(int(NOW) + 1)}, BODY, "bad_signature"),
        (chatwoot_headers(at=NOW - 301), BODY, "timestamp_out_of_window"),
        (chatwoot_headers(at=NOW + 301), BODY, "timestamp_out_of_window"),
        ({**chatwoot_headers(), "X-Chatwoot-Timestamp": "soon"}, BODY, "invalid_headers"),
        ({"X-Chatwoot-Delivery": "x"}, BODY, "missing_headers"),
        ({**chatwoot_headers(), "X-Chatwoot-Signature": "sha256=zz"}, BODY, "bad_signature"),
    ],
)
def test_chatwoot_refusals(headers, body, expected) -> None:
    assert code(lambda: verify_chatwoot([SECRET], headers, body, now=now)) == expected


def test_chatwoot_signs_the_body_bytes_not_its_json() -> None:
    spaced = b'{"event": "message_created", "id": 42}'
    verify_chatwoot([SECRET], chatwoot_headers(body=spaced), spaced, now=now)
    compact = b'{"event":"message_created","id":42}'
    assert code(lambda: verify_chatwoot([SECRET], chatwoot_headers(body=spaced), compact, now=now))


# --- Zendesk --------------------------------------------------------------------------------


def test_zendesk_valid_delivery() -> None:
    verify_zendesk([SECRET], zendesk_headers(), BODY, now=now)


def test_zendesk_empty_body_and_rotation() -> None:
    verify_zendesk([SECRET, OLD_SECRET], zendesk_headers(OLD_SECRET, body=b""), b"", now=now)


def test_zendesk_offset_timestamps_are_read_as_instants() -> None:
    headers = zendesk_headers()
    moment = datetime.fromtimestamp(NOW, tz=UTC).astimezone().isoformat()
    digest = hmac.new(SECRET.encode(), moment.encode() + BODY, hashlib.sha256).digest()
    headers["X-Zendesk-Webhook-Signature-Timestamp"] = moment
    headers["X-Zendesk-Webhook-Signature"] = base64.b64encode(digest).decode()
    verify_zendesk([SECRET], headers, BODY, now=now)


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        (zendesk_headers(), BODY + b" ", "bad_signature"),
        (zendesk_headers(OLD_SECRET), BODY, "bad_signature"),
        (zendesk_headers(at=NOW - 301), BODY, "timestamp_out_of_window"),
        (zendesk_headers(at=NOW + 301), BODY, "timestamp_out_of_window"),
        (
            {**zendesk_headers(), "X-Zendesk-Webhook-Signature-Timestamp": "2026-01-01T10:00:00"},
            BODY,
            "invalid_headers",
        ),
        (
            {**zendesk_headers(), "X-Zendesk-Webhook-Signature-Timestamp": "yesterday"},
            BODY,
            "invalid_headers",
        ),
        ({**zendesk_headers(), "X-Zendesk-Webhook-Signature": "%%%"}, BODY, "bad_signature"),
        ({"X-Zendesk-Webhook-Invocation-Id": "1"}, BODY, "missing_headers"),
    ],
)
def test_zendesk_refusals(headers, body, expected) -> None:
    assert code(lambda: verify_zendesk([SECRET], headers, body, now=now)) == expected


def test_no_secret_is_a_configuration_error_not_a_401() -> None:
    for verify, headers in (
        (verify_chatwoot, chatwoot_headers()),
        (verify_zendesk, zendesk_headers()),
    ):
        with pytest.raises(ValueError, match="no webhook secret"):
            verify([], headers, BODY, now=now)
