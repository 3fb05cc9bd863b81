"""Signed deliveries as each provider makes them: Twilio's ``RequestValidator`` and Standard
Webhooks' ``Webhook`` (the providers' own libraries); Vapi, Chatwoot and Zendesk by their
documented recipes (../shared/reference/VAPI.md §1, PROVIDERS.md §B.1)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from standardwebhooks.webhooks import Webhook
from twilio.request_validator import RequestValidator

FORM = "application/x-www-form-urlencoded"


def twilio(token: str, url: str, params: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    signature = RequestValidator(token).compute_signature(url, params)
    return urlencode(params).encode(), {
        "Content-Type": FORM,
        "X-Twilio-Signature": signature,
        "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
    }


def call_params(to: str = "+31201234567", **extra: str) -> dict[str, str]:
    return {
        "CallSid": "CA" + uuid.uuid4().hex,
        "AccountSid": "AC" + "1" * 32,
        "From": "+31612345678",
        "To": to,
        "CallStatus": "ringing",
        "Direction": "inbound",
        **extra,
    }


def standard(secret: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    msg_id = f"msg_{uuid.uuid4().hex}"
    signature = Webhook(secret).sign(msg_id, datetime.now(tz=UTC), body.decode())
    return body, {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": signature,
    }


def vapi_message(message_type: str = "status-update", **message: Any) -> dict[str, Any]:
    return {
        "message": {
            "type": message_type,
            "timestamp": int(time.time() * 1000),
            "call": {"id": f"call_{uuid.uuid4().hex}", "orgId": "org_1"},
            **message,
        }
    }


def vapi_secret(secret: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The legacy server-URL secret (or a Bearer credential named X-Vapi-Secret)."""
    return json.dumps(payload).encode(), {
        "Content-Type": "application/json",
        "X-Vapi-Secret": secret,
    }


def vapi_hmac(secret: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """An HMAC credential with Vapi's defaults: hex HMAC-SHA256 of "{timestamp}.{body}"."""
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return body, {
        "Content-Type": "application/json",
        "X-Signature": digest.hexdigest(),
        "X-Timestamp": timestamp,
    }


def chatwoot(secret: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return body, {
        "Content-Type": "application/json",
        "X-Chatwoot-Signature": "sha256=" + digest.hexdigest(),
        "X-Chatwoot-Timestamp": timestamp,
        "X-Chatwoot-Delivery": str(uuid.uuid4()),
    }


def zendesk(secret: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    timestamp = datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return body, {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
        "X-Zendesk-Webhook-Invocation-Id": str(uuid.uuid4().int)[:16],
        "X-Zendesk-Account-Id": "9001",
    }
