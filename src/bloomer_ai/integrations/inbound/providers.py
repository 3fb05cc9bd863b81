"""What each provider's deliveries look like: the header that recognises it, how its
signature is checked, its delivery id, and where a payload names its shop.

Pure functions over the raw delivery (no database, no web framework). Sources: Twilio and
Standard Webhooks as their own libraries do (``webhooks/verify.py``), Vapi's server-URL
authentication forms, Chatwoot (PR chatwoot/chatwoot#13573) and Zendesk ("Verifying
webhook authenticity"); ``../shared/reference/`` keeps the notes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from bloomer_ai.integrations.inbound.handlers import Kind, Provider
from bloomer_ai.kit.validation import normalise_phone
from bloomer_ai.webhooks.verify import (
    WebhookVerificationError,
    vapi_auth_plans,
    verify_chatwoot,
    verify_standard_webhook,
    verify_twilio,
    verify_vapi,
    verify_zendesk,
)

PROVIDERS_OF_KIND: dict[str, tuple[Provider, ...]] = {
    "voice": ("twilio", "vapi", "lilli"),
    "support": ("lilli", "chatwoot", "zendesk"),
}

# The platform route tells providers apart by the header that carries their signature.
SIGNATURE_HEADERS: tuple[tuple[Provider, tuple[str, ...]], ...] = (
    ("twilio", ("x-twilio-signature",)),
    ("lilli", ("webhook-signature",)),
    ("chatwoot", ("x-chatwoot-signature",)),
    ("zendesk", ("x-zendesk-webhook-signature",)),
    ("vapi", ("x-vapi-secret", "x-vapi-signature", "x-signature")),
)

DELIVERY_ID_HEADERS: dict[str, str] = {
    "twilio": "i-twilio-idempotency-token",
    "lilli": "webhook-id",
    "chatwoot": "x-chatwoot-delivery",
    "zendesk": "x-zendesk-webhook-invocation-id",
}

# Where a JSON payload may name its shop (our own field, set by whoever configured the
# sender: Lilli's payloads, Vapi's call or assistant metadata, a Zendesk body template).
SHOP_ID_PATHS: tuple[tuple[str, ...], ...] = (
    ("shopId",),
    ("data", "shopId"),
    ("metadata", "shopId"),
    ("message", "metadata", "shopId"),
    ("message", "call", "metadata", "shopId"),
    ("message", "assistant", "metadata", "shopId"),
)


@dataclass(frozen=True, slots=True)
class RawDelivery:
    headers: Mapping[str, str] = field(repr=False)
    """Lower-cased names."""
    body: bytes = field(repr=False)
    url: str
    """The URL the sender used (public), with its query: Twilio signs it."""
    content_type: str


@dataclass(frozen=True, slots=True)
class ParsedBody:
    payload: dict[str, Any] = field(repr=False)
    form: dict[str, list[str]] | None = field(default=None, repr=False)


def recognise(headers: Mapping[str, str], kind: Kind) -> Provider | None:
    """The provider whose signature header the delivery carries, among ``kind``'s."""
    allowed = PROVIDERS_OF_KIND[kind]
    for provider, names in SIGNATURE_HEADERS:
        if provider in allowed and any(name in headers for name in names):
            return provider
    return None


def parse_body(raw: RawDelivery) -> ParsedBody:
    media_type = raw.content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        try:
            text = raw.body.decode("utf-8")
        except UnicodeDecodeError:
            return ParsedBody({}, {})
        form = parse_qs(text, keep_blank_values=True)
        return ParsedBody({name: values[-1] for name, values in form.items()}, form)
    if not raw.body:
        return ParsedBody({})
    try:
        decoded = json.loads(raw.body)
    except (ValueError, UnicodeDecodeError):
        return ParsedBody({})
    return ParsedBody(decoded if isinstance(decoded, dict) else {})


def verify(
    provider: Provider,
    secrets: Sequence[str],
    raw: RawDelivery,
    parsed: ParsedBody,
    *,
    tolerance_s: float,
    vapi_auth: Any = None,
) -> str:
    """Check the delivery's signature (``WebhookVerificationError`` when it fails); return
    the provider's id of the delivery. ``vapi_auth``: a Vapi integration's credential plan
    (``settings.vapiAuth``)."""
    headers = raw.headers
    if provider == "twilio":
        verify_twilio(
            secrets,
            raw.url,
            parsed.form,
            headers.get("x-twilio-signature", ""),
            body=raw.body,
            signature_settings=headers.get("x-twilio-webhooks-signature-settings"),
        )
    elif provider == "lilli":
        return verify_standard_webhook(secrets, headers, raw.body, tolerance_s=tolerance_s)
    elif provider == "vapi":
        try:
            hmac_plan, bearer_plan = vapi_auth_plans(vapi_auth)
        except ValueError:
            raise WebhookVerificationError("unsupported_algorithm") from None
        verify_vapi(
            secrets,
            headers,
            raw.body,
            tolerance_s=tolerance_s,
            hmac_plan=hmac_plan,
            bearer_plan=bearer_plan,
            url=raw.url,
        )
        return _vapi_delivery_id(parsed.payload) or _body_id(raw.body)
    elif provider == "chatwoot":
        verify_chatwoot(secrets, headers, raw.body, tolerance_s=tolerance_s)
    else:
        verify_zendesk(secrets, headers, raw.body, tolerance_s=tolerance_s)
    return delivery_id(provider, headers, raw.body)


def delivery_id(provider: Provider, headers: Mapping[str, str], body: bytes) -> str:
    """The provider's id of a delivery (its header), else the SHA-256 of its body. Vapi's
    is computed from its payload (``verify``)."""
    header = DELIVERY_ID_HEADERS.get(provider)
    return (headers.get(header, "").strip() if header else "") or _body_id(body)


def _body_id(body: bytes) -> str:
    """A delivery without an id of its own: the same bytes are the same delivery."""
    return "body-sha256:" + hashlib.sha256(body).hexdigest()


def _vapi_delivery_id(payload: Mapping[str, Any]) -> str | None:
    """Vapi sends no delivery id: a message is its call, its type and its timestamp."""
    message = payload.get("message")
    if not isinstance(message, dict):
        return None
    call = message.get("call")
    call_id = call.get("id") if isinstance(call, dict) else None
    kind, timestamp = message.get("type"), message.get("timestamp")
    if not (call_id and kind and timestamp is not None):
        return None
    return f"{call_id}:{kind}:{timestamp}"


def _at(payload: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = payload
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def named_shops(parsed: ParsedBody) -> set[str]:
    """Every shop id the payload names (usually none or one)."""
    named = {_at(parsed.payload, path) for path in SHOP_ID_PATHS}
    return {str(value).strip() for value in named if value not in (None, "")}


def called_number(provider: Provider, parsed: ParsedBody) -> str | None:
    """The shop's own number (E.164) the delivery is about, when the provider says."""
    payload = parsed.payload
    raw: Any = None
    if provider == "twilio":
        direction = str(payload.get("Direction", "inbound")).lower()
        raw = payload.get("From") if direction.startswith("outbound") else payload.get("To")
    elif provider == "vapi":
        raw = _at(payload, ("message", "phoneNumber", "number")) or _at(
            payload, ("message", "call", "phoneNumber", "number")
        )
    elif provider == "lilli":
        raw = payload.get("calledNumber") or _at(payload, ("data", "calledNumber"))
    if not isinstance(raw, str) or not raw.strip():
        return None
    return normalise_phone(raw.strip(), None)


def account_id(provider: Provider, parsed: ParsedBody, headers: Mapping[str, str]) -> str | None:
    """The provider account the delivery belongs to, where it says (an integration's
    ``externalAccountId``)."""
    value: Any = None
    if provider == "twilio":
        value = parsed.payload.get("AccountSid")
    elif provider == "chatwoot":
        value = _at(parsed.payload, ("account", "id"))
    elif provider == "zendesk":
        value = headers.get("x-zendesk-account-id")
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text[:200] or None
