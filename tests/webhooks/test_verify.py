"""Webhook verification, signed by the real ``standardwebhooks`` and ``twilio`` packages."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook
from twilio.request_validator import RequestValidator

from bloomer_ai.webhooks.verify import (
    WebhookVerificationError,
    public_url,
    verify_standard_webhook,
    verify_twilio,
    verify_vapi,
)

NOW = 1_790_000_000.0


def fixed_now() -> float:
    return NOW


def code_of(exc_info: pytest.ExceptionInfo[WebhookVerificationError]) -> str:
    return exc_info.value.code


# --- Standard Webhooks ----------------------------------------------------------------

NEW_WHSEC = "whsec_" + base64.b64encode(b"new-standard-webhooks-key-32byte").decode()
OLD_WHSEC = "whsec_" + base64.b64encode(b"old-standard-webhooks-key-32byte").decode()
BODY = json.dumps({"type": "generation.completed", "data": {"id": "gen_1"}}).encode()


def standard_headers(
    secret: str, body: bytes = BODY, *, msg_id: str = "msg_2b1", at: float | None = None
) -> dict[str, str]:
    # The reference library checks the window against the real clock: sign at real times.
    at = time.time() if at is None else at
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(at, tz=UTC), body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at)),
        "webhook-signature": signature,
    }


def verify_standard(
    secrets: list[str], headers: dict[str, str], body: bytes = BODY, **kwargs: Any
) -> str:
    return verify_standard_webhook(secrets, headers, body, **kwargs)


def test_standard_valid_delivery_returns_its_id() -> None:
    headers = standard_headers(NEW_WHSEC)
    assert verify_standard([NEW_WHSEC], headers) == "msg_2b1"


def test_standard_agrees_with_the_reference_library_on_a_live_delivery() -> None:
    now = datetime.now(tz=UTC).timestamp()
    headers = standard_headers(NEW_WHSEC, at=now)
    Webhook(NEW_WHSEC).verify(BODY, headers)  # raises if the library disagrees
    assert verify_standard_webhook([NEW_WHSEC], headers, BODY) == "msg_2b1"


def test_standard_header_names_are_case_insensitive() -> None:
    headers = {name.title(): value for name, value in standard_headers(NEW_WHSEC).items()}
    assert verify_standard([NEW_WHSEC], headers) == "msg_2b1"


def test_standard_secret_without_prefix_accepted() -> None:
    raw = NEW_WHSEC.removeprefix("whsec_")
    headers = standard_headers(raw)
    assert verify_standard([raw], headers) == "msg_2b1"
    assert verify_standard([NEW_WHSEC], headers) == "msg_2b1"


def test_standard_tampered_body_rejected() -> None:
    headers = standard_headers(NEW_WHSEC)
    with pytest.raises(WebhookVerificationError) as caught:
        verify_standard([NEW_WHSEC], headers, BODY.replace(b"gen_1", b"gen_2"))
    assert code_of(caught) == "bad_signature"


def test_standard_tampered_id_rejected() -> None:
    headers = {**standard_headers(NEW_WHSEC), "webhook-id": "msg_other"}
    with pytest.raises(WebhookVerificationError) as caught:
        verify_standard([NEW_WHSEC], headers)
    assert code_of(caught) == "bad_signature"


def test_standard_wrong_secret_rejected() -> None:
    headers = standard_headers(OLD_WHSEC)
    with pytest.raises(WebhookVerificationError) as caught:
        verify_standard([NEW_WHSEC], headers)
    assert code_of(caught) == "bad_signature"


@pytest.mark.parametrize("offset", [-301, -3600, 301, 3600])
def test_standard_timestamp_outside_window_rejected(offset: int) -> None:
    headers = standard_headers(NEW_WHSEC, at=time.time() + offset)
    with pytest.raises(WebhookVerificationError) as caught:
        verify_standard([NEW_WHSEC], headers)
    assert code_of(caught) == "timestamp_out_of_window"


@pytest.mark.parametrize("offset", [-299, 0, 299])
def test_standard_timestamp_inside_window_accepted(offset: int) -> None:
    headers = standard_headers(NEW_WHSEC, at=time.time() + offset)
    assert verify_standard([NEW_WHSEC], headers) == "msg_2b1"


def test_standard_rotation_accepts_older_secret() -> None:
    headers = standard_headers(OLD_WHSEC)
    assert verify_standard([NEW_WHSEC, OLD_WHSEC], headers) == "msg_2b1"


def test_standard_several_signatures_in_header() -> None:
    good = standard_headers(NEW_WHSEC)["webhook-signature"]
    other = standard_headers(OLD_WHSEC)["webhook-signature"]
    headers = standard_headers(NEW_WHSEC)
    headers["webhook-signature"] = f"{other} v1a,bm90LWNoZWNrZWQ= {good}"
    assert verify_standard([NEW_WHSEC], headers) == "msg_2b1"


@pytest.mark.parametrize("entry", ["v1,!!notbase64", "v1", "v1,a,b"])
def test_standard_malformed_signature_entry_is_refused_not_a_crash(entry: str) -> None:
    """The reference library stops at such an entry (it splits and decodes unguarded):
    the delivery is refused with a code, never an unexpected error."""
    good = standard_headers(NEW_WHSEC)["webhook-signature"]
    headers = {**standard_headers(NEW_WHSEC), "webhook-signature": f"{entry} {good}"}
    with pytest.raises(WebhookVerificationError) as caught:
        verify_standard([NEW_WHSEC], headers)
    assert code_of(caught) in {"invalid_headers", "bad_signature"}


def test_standard_body_that_is_not_utf8_is_refused() -> None:
    headers = standard_headers(NEW_WHSEC)
    with pytest.raises(WebhookVerificationError):
        verify_standard([NEW_WHSEC], headers, b"\xff\xfe")


def test_standard_only_other_versions_rejected() -> None:
    headers = standard_headers(NEW_WHSEC)
    signature = headers["webhook-signature"].split(",", 1)[1]
    headers["webhook-signature"] = f"v2,{signature} v1a,{signature}"
    with pytest.raises(WebhookVerificationError) as caught:
        verify_standard([NEW_WHSEC], headers)
    assert code_of(caught) == "bad_signature"


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_standard_missing_header_rejected(missing: str) -> None:
    headers = standard_headers(NEW_WHSEC)
    del headers[missing]
    with pytest.raises(WebhookVerificationError) as caught:
        verify_standard([NEW_WHSEC], headers)
    assert code_of(caught) == "missing_headers"


@pytest.mark.parametrize("timestamp", ["soon", "1790000000.5", "-1790000000", "1e9"])
def test_standard_malformed_timestamp_rejected(timestamp: str) -> None:
    headers = {**standard_headers(NEW_WHSEC), "webhook-timestamp": timestamp}
    with pytest.raises(WebhookVerificationError) as caught:
        verify_standard([NEW_WHSEC], headers)
    assert code_of(caught) == "invalid_headers"


def test_standard_no_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="secret"):
        verify_standard([""], standard_headers(NEW_WHSEC))


def test_standard_error_message_holds_no_signature() -> None:
    headers = standard_headers(OLD_WHSEC)
    with pytest.raises(WebhookVerificationError) as caught:
        verify_standard([NEW_WHSEC], headers)
    assert str(caught.value) == "bad_signature"
    assert headers["webhook-signature"] not in repr(caught.value)


# --- Twilio ----------------------------------------------------------------------------

AUTH_TOKEN = "12345678901234567890123456789012"
OLD_AUTH_TOKEN = "abcdefabcdefabcdefabcdefabcdefab"
VOICE_URL = "https://api.bloomer.example/api/ai/voice/webhook?shop=shop_1"


class MultiParams(dict[str, list[str]]):
    """A form with repeated keys, shaped as Twilio's validator reads it (Django style)."""

    def getlist(self, name: str) -> list[str]:
        return self[name]


FORM: dict[str, str | list[str]] = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675310",
    "Digits": "1234",
    "From": "+14158675310",
    "To": "+18005551212",
}


def twilio_sign(url: str, params: Any, token: str = AUTH_TOKEN, **kwargs: Any) -> str:
    signature: str = RequestValidator(token).compute_signature(url, params, **kwargs)
    return signature


def twilio_code(*args: Any, **kwargs: Any) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        verify_twilio(*args, **kwargs)
    return code_of(caught)


def test_twilio_form_post_accepted_and_agrees_with_library() -> None:
    signature = twilio_sign(VOICE_URL, FORM)
    assert RequestValidator(AUTH_TOKEN).validate(VOICE_URL, FORM, signature)
    verify_twilio([AUTH_TOKEN], VOICE_URL, FORM, signature)


def test_twilio_repeated_keys() -> None:
    form = MultiParams(
        {"To": ["+18005551212"], "Tags": ["vip", "b2b", "florist"], "Media": ["b", "a", "b"]}
    )
    signature = twilio_sign(VOICE_URL, form)
    verify_twilio([AUTH_TOKEN], VOICE_URL, dict(form), signature)
    # Order of values in the request does not matter; their content does.
    verify_twilio([AUTH_TOKEN], VOICE_URL, {**form, "Tags": ["florist", "vip", "b2b"]}, signature)
    tampered = {**form, "Tags": ["vip", "b2b"]}
    assert twilio_code([AUTH_TOKEN], VOICE_URL, tampered, signature) == "bad_signature"


def test_twilio_tampered_param_rejected() -> None:
    signature = twilio_sign(VOICE_URL, FORM)
    tampered = {**FORM, "Digits": "9999"}
    assert twilio_code([AUTH_TOKEN], VOICE_URL, tampered, signature) == "bad_signature"
    extra = {**FORM, "Extra": "1"}
    assert twilio_code([AUTH_TOKEN], VOICE_URL, extra, signature) == "bad_signature"


def test_twilio_tampered_url_rejected() -> None:
    signature = twilio_sign(VOICE_URL, FORM)
    other_url = VOICE_URL.replace("shop_1", "shop_2")
    assert twilio_code([AUTH_TOKEN], other_url, FORM, signature) == "bad_signature"


def test_twilio_wrong_token_rejected_and_rotation_accepted() -> None:
    signature = twilio_sign(VOICE_URL, FORM, token=OLD_AUTH_TOKEN)
    assert twilio_code([AUTH_TOKEN], VOICE_URL, FORM, signature) == "bad_signature"
    verify_twilio([AUTH_TOKEN, OLD_AUTH_TOKEN], VOICE_URL, FORM, signature)


@pytest.mark.parametrize(
    ("signed_url", "seen_url"),
    [
        ("https://api.bloomer.example:443/hook?a=1", "https://api.bloomer.example/hook?a=1"),
        ("https://api.bloomer.example/hook?a=1", "https://api.bloomer.example:443/hook?a=1"),
        ("http://api.bloomer.example:80/hook", "http://api.bloomer.example/hook"),
        ("https://api.bloomer.example:8443/hook", "https://api.bloomer.example:8443/hook"),
        ("https://API.Bloomer.example:443/hook", "https://API.Bloomer.example/hook"),
    ],
)
def test_twilio_port_variants(signed_url: str, seen_url: str) -> None:
    signature = twilio_sign(signed_url, FORM)
    verify_twilio([AUTH_TOKEN], seen_url, FORM, signature)


def test_twilio_nondefault_port_is_not_dropped_silently() -> None:
    signature = twilio_sign("https://api.bloomer.example:8443/hook", FORM)
    assert (
        twilio_code([AUTH_TOKEN], "https://api.bloomer.example:9443/hook", FORM, signature)
        == "bad_signature"
    )


def test_twilio_behind_proxy() -> None:
    signature = twilio_sign(VOICE_URL, FORM)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.bloomer.example"}
    rebuilt = public_url(
        "http",
        "app:8000",
        "/api/ai/voice/webhook",
        "shop=shop_1",
        configured_base_url=None,
        forwarded_headers=forwarded,
        trust_forwarded=True,
    )
    assert rebuilt == VOICE_URL
    verify_twilio([AUTH_TOKEN], rebuilt, FORM, signature)

    untrusted = public_url(
        "http",
        "app:8000",
        "/api/ai/voice/webhook",
        "shop=shop_1",
        configured_base_url=None,
        forwarded_headers=forwarded,
        trust_forwarded=False,
    )
    assert untrusted == "http://app:8000/api/ai/voice/webhook?shop=shop_1"
    assert twilio_code([AUTH_TOKEN], untrusted, FORM, signature) == "bad_signature"


def test_twilio_json_body_sha256() -> None:
    body = json.dumps({"CallSid": "CA1", "Status": "completed"})
    validator = RequestValidator(AUTH_TOKEN)
    url = (
        f"https://api.bloomer.example/api/ai/voice/status?bodySHA256={validator.compute_hash(body)}"
    )
    signature = twilio_sign(url, {})
    assert validator.validate(url, body, signature)

    verify_twilio([AUTH_TOKEN], url, None, signature, body=body.encode())
    tampered = body.replace("completed", "failed").encode()
    assert twilio_code([AUTH_TOKEN], url, None, signature, body=tampered) == "body_hash_mismatch"
    assert twilio_code([AUTH_TOKEN], url, None, signature) == "body_hash_mismatch"
    # With the port variant too (Twilio may sign either form).
    verify_twilio(
        [AUTH_TOKEN],
        url.replace("example/", "example:443/"),
        None,
        signature,
        body=body.encode(),
    )


def test_twilio_shared_key_hmac_sha256() -> None:
    signature = twilio_sign(VOICE_URL, FORM, algorithm="HMAC_SHA256")
    settings = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    verify_twilio([AUTH_TOKEN], VOICE_URL, FORM, signature, signature_settings=settings)
    # The same signature is not a valid SHA-1 one.
    assert twilio_code([AUTH_TOKEN], VOICE_URL, FORM, signature) == "bad_signature"
    assert (
        twilio_code(
            [AUTH_TOKEN], VOICE_URL, FORM, signature, signature_settings="algorithm=HMAC_MD5"
        )
        == "unsupported_algorithm"
    )


def test_twilio_missing_or_garbage_signature() -> None:
    assert twilio_code([AUTH_TOKEN], VOICE_URL, FORM, "") == "missing_headers"
    assert twilio_code([AUTH_TOKEN], VOICE_URL, FORM, "not base64!") == "bad_signature"


# --- public_url -------------------------------------------------------------------------


def build(**kwargs: Any) -> str:
    defaults: dict[str, Any] = {
        "scheme": "http",
        "host": "app:8000",
        "path": "/api/ai/voice/webhook",
        "query": "",
        "configured_base_url": None,
        "forwarded_headers": {},
        "trust_forwarded": True,
    }
    return public_url(**{**defaults, **kwargs})


def test_public_url_configured_base_wins() -> None:
    url = build(
        configured_base_url="https://hooks.bloomer.example/backend/",
        query="a=1",
        forwarded_headers={"X-Forwarded-Host": "evil.example"},
    )
    assert url == "https://hooks.bloomer.example/backend/api/ai/voice/webhook?a=1"


def test_public_url_rfc7239_forwarded() -> None:
    headers = {"Forwarded": 'for=192.0.2.60;proto=https;host="api.bloomer.example", for=10.0.0.1'}
    assert build(forwarded_headers=headers) == "https://api.bloomer.example/api/ai/voice/webhook"


def test_public_url_first_of_several_proxies_and_port() -> None:
    headers = {
        "x-forwarded-proto": "https, http",
        "x-forwarded-host": "api.bloomer.example, lb.internal",
        "x-forwarded-port": "8443",
    }
    assert (
        build(forwarded_headers=headers) == "https://api.bloomer.example:8443/api/ai/voice/webhook"
    )
    default_port = {**headers, "x-forwarded-port": "443"}
    assert (
        build(forwarded_headers=default_port) == "https://api.bloomer.example/api/ai/voice/webhook"
    )


def test_public_url_ignores_unusable_forwarded_values() -> None:
    headers = {"X-Forwarded-Proto": "gopher", "X-Forwarded-Host": "bad host/with path"}
    assert build(forwarded_headers=headers) == "http://app:8000/api/ai/voice/webhook"


# --- Vapi --------------------------------------------------------------------------------

VAPI_SECRET = "vapi-server-secret-new"
OLD_VAPI_SECRET = "vapi-server-secret-old"
VAPI_BODY = json.dumps({"message": {"type": "end-of-call-report", "call": {"id": "c1"}}}).encode()


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def vapi_code(secrets: list[str], headers: dict[str, str], body: bytes = VAPI_BODY) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        verify_vapi(secrets, headers, body, now=fixed_now)
    return code_of(caught)


def test_vapi_secret_header() -> None:
    verify_vapi([VAPI_SECRET], {"X-Vapi-Secret": VAPI_SECRET}, VAPI_BODY)
    verify_vapi([VAPI_SECRET, OLD_VAPI_SECRET], {"x-vapi-secret": OLD_VAPI_SECRET}, VAPI_BODY)
    assert vapi_code([VAPI_SECRET], {"x-vapi-secret": "guess"}) == "bad_signature"


def test_vapi_signature_header_checked_when_present() -> None:
    good = {"x-vapi-secret": VAPI_SECRET, "x-vapi-signature": hmac_hex(VAPI_SECRET, VAPI_BODY)}
    verify_vapi([VAPI_SECRET], good, VAPI_BODY)
    # A right secret does not excuse a wrong signature (the body was changed).
    assert vapi_code([VAPI_SECRET], good, VAPI_BODY + b" ") == "bad_signature"
    # Older docs: the plain secret in X-Vapi-Signature.
    verify_vapi([VAPI_SECRET], {"x-vapi-signature": VAPI_SECRET}, VAPI_BODY)


def test_vapi_hmac_credential_with_timestamp() -> None:
    timestamp = str(int(NOW))
    signature = hmac_hex(VAPI_SECRET, f"{timestamp}.".encode() + VAPI_BODY)
    headers = {"x-signature": signature, "x-timestamp": timestamp}
    verify_vapi([VAPI_SECRET], headers, VAPI_BODY, now=fixed_now)
    verify_vapi(
        [VAPI_SECRET], {**headers, "x-signature": f"sha256={signature}"}, VAPI_BODY, now=fixed_now
    )
    assert vapi_code([VAPI_SECRET], headers, b"{}") == "bad_signature"
    assert vapi_code([OLD_VAPI_SECRET], headers) == "bad_signature"

    old = str(int(NOW) - 600)
    stale = {
        "x-signature": hmac_hex(VAPI_SECRET, f"{old}.".encode() + VAPI_BODY),
        "x-timestamp": old,
    }
    assert vapi_code([VAPI_SECRET], stale) == "timestamp_out_of_window"


def test_vapi_hmac_credential_millisecond_timestamp_and_no_timestamp() -> None:
    millis = str(int(NOW * 1000))
    signature = hmac_hex(VAPI_SECRET, f"{millis}.".encode() + VAPI_BODY)
    verify_vapi(
        [VAPI_SECRET], {"x-signature": signature, "x-timestamp": millis}, VAPI_BODY, now=fixed_now
    )
    body_only = base64.b64encode(
        hmac.new(VAPI_SECRET.encode(), VAPI_BODY, hashlib.sha256).digest()
    ).decode()
    verify_vapi([VAPI_SECRET], {"x-signature": body_only}, VAPI_BODY)


def test_vapi_bearer_only_without_vapi_headers() -> None:
    verify_vapi([VAPI_SECRET], {"Authorization": f"Bearer {VAPI_SECRET}"}, VAPI_BODY)
    assert vapi_code([VAPI_SECRET], {"Authorization": "Bearer nope"}) == "bad_signature"


def test_vapi_nothing_presented() -> None:
    assert vapi_code([VAPI_SECRET], {"content-type": "application/json"}) == "missing_headers"
    assert vapi_code([VAPI_SECRET], {"authorization": "Basic abc"}) == "missing_headers"


def test_a_rotation_setting_holds_several_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """SUPPORT_WEBHOOK_SECRET="new,old": a delivery signed with the old one still verifies."""
    from bloomer_ai.config import WebhookSettings

    new = "whsec_" + base64.b64encode(b"n" * 32).decode()
    old = "whsec_" + base64.b64encode(b"o" * 32).decode()
    monkeypatch.setenv("SUPPORT_WEBHOOK_SECRET", f"{new}, {old}")
    settings = WebhookSettings(_env_file=None)
    accepted = WebhookSettings.accepted(settings.support_webhook_secret)
    assert accepted == [new, old]
    assert WebhookSettings.accepted(None) == []

    body = b'{"type": "ticket.created"}'
    sent = datetime.now(UTC)
    signature = Webhook(old).sign("msg_rotation", sent, body.decode())
    headers = {
        "webhook-id": "msg_rotation",
        "webhook-timestamp": str(int(sent.timestamp())),
        "webhook-signature": signature,
    }
    assert verify_standard_webhook(accepted, headers, body) == "msg_rotation"
    with pytest.raises(WebhookVerificationError):
        verify_standard_webhook(accepted[:1], headers, body)
