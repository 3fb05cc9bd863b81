"""Webhook signature checks: Standard Webhooks, Twilio, Vapi, Chatwoot and Zendesk.

Pure functions over the exact raw request (headers, bytes, URL): no web framework. Each
takes a list of secrets so a secret can be rotated without dropping deliveries, compares
in constant time, and raises ``WebhookVerificationError`` with a short code that is safe
to log (never a secret or a signature).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit, urlunsplit

from standardwebhooks.webhooks import EmptyWebhookSecretError
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError as StandardWebhookError

__all__ = [
    "VapiBearerPlan",
    "VapiHmacPlan",
    "WebhookVerificationError",
    "is_standard_webhook_secret",
    "public_url",
    "twilio_signature_algorithm",
    "vapi_auth_plans",
    "verify_chatwoot",
    "verify_standard_webhook",
    "verify_twilio",
    "verify_vapi",
    "verify_zendesk",
]

VerificationCode = Literal[
    "missing_headers",
    "invalid_headers",
    "bad_signature",
    "timestamp_out_of_window",
    "body_hash_mismatch",
    "unsupported_algorithm",
]


class WebhookVerificationError(Exception):
    """The delivery is not authentic. ``code`` is a short, loggable reason."""

    def __init__(self, code: VerificationCode) -> None:
        self.code: VerificationCode = code
        super().__init__(code)


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    # HTTP header names are case-insensitive; callers may pass any mapping.
    return {name.lower(): value for name, value in headers.items()}


def _check_timestamp(raw: str, *, now: float, tolerance_s: float) -> None:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 13:
        raise WebhookVerificationError("invalid_headers")
    if abs(now - int(raw)) > tolerance_s:
        raise WebhookVerificationError("timestamp_out_of_window")


def _require_secrets(secrets: Sequence[str]) -> list[str]:
    usable = [secret for secret in secrets if secret]
    if not usable:
        # A configuration mistake, not a bad delivery: fail loudly, not with a 401.
        raise ValueError("no webhook secret configured")
    return usable


# --- Standard Webhooks ----------------------------------------------------------------
# Verified by the reference library, ``standardwebhooks``. Around it: every secret of a
# rotation is tried, the window (our clock, WEBHOOK_TOLERANCE_SECONDS, which can narrow the
# library's fixed 5 minutes but never widen them) is checked first so the error code says
# why, and what the library does not turn into its own error (a malformed signature entry,
# a body that is not UTF-8, a bad secret) becomes one of ours.


def _standard_webhooks(secrets: Sequence[str]) -> list[StandardWebhook]:
    webhooks = []
    for secret in _require_secrets(secrets):
        try:
            webhooks.append(StandardWebhook(secret))
        except (binascii.Error, ValueError, EmptyWebhookSecretError) as exc:
            raise ValueError("a Standard Webhooks secret is not valid base64") from exc
    return webhooks


def is_standard_webhook_secret(secret: str) -> bool:
    """A secret the Standard Webhooks library accepts (``whsec_`` + base64, or base64)."""
    try:
        _standard_webhooks([secret])
    except ValueError:
        return False
    return True


def verify_standard_webhook(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: Callable[[], float] = time.time,
    tolerance_s: float = 300,
) -> str:
    """Check a Standard Webhooks delivery and return its ``webhook-id``.

    The signature is HMAC-SHA256 over ``"{id}.{timestamp}." + body``; the header may list
    several space-separated ``v1,<base64>`` signatures (the sender rotating its secret).
    """
    webhooks = _standard_webhooks(secrets)
    lowered = _lower_keys(headers)
    msg_id = lowered.get("webhook-id", "")
    timestamp = lowered.get("webhook-timestamp", "")
    signature_header = lowered.get("webhook-signature", "")
    if not (msg_id and timestamp and signature_header):
        raise WebhookVerificationError("missing_headers")
    # The window check comes first: an old delivery is refused even if well signed.
    _check_timestamp(timestamp, now=now(), tolerance_s=tolerance_s)
    for webhook in webhooks:
        try:
            webhook.verify(body, lowered, json_parse=False)
        except StandardWebhookError:
            continue
        except (ValueError, binascii.Error):
            # The library splits each entry on "," and decodes it, and the body as UTF-8,
            # without catching what a malformed header or body raises.
            raise WebhookVerificationError("invalid_headers") from None
        return msg_id
    raise WebhookVerificationError("bad_signature")


def _matches_any(presented: bytes, candidates: Iterable[bytes]) -> bool:
    # Check every candidate (no early exit) so timing says nothing about which matched.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(presented, candidate)
    return matched


# --- Twilio -----------------------------------------------------------------------------

_TWILIO_DIGESTS = {"HMAC_SHA1": "sha1", "HMAC_SHA256": "sha256"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def twilio_signature_algorithm(signature_settings_header: str | None) -> str:
    """The algorithm named in ``X-Twilio-Webhooks-Signature-Settings`` (default HMAC_SHA1).

    Twilio adds that header (``key=…,algorithm=HMAC_SHA256``) when the webhook is signed
    with a SharedKey instead of the account Auth Token.
    """
    for part in (signature_settings_header or "").split(","):
        name, separator, value = part.partition("=")
        if separator and name.strip() == "algorithm" and value.strip():
            return value.strip().upper()
    return "HMAC_SHA1"


def _twilio_url_variants(url: str) -> list[str]:
    """The URL as given, without its port and with its default port.

    Twilio's own RequestValidator tries both port forms because Twilio is not consistent
    about which one it signs.
    """
    parts = urlsplit(url)
    variants = [url]
    try:
        port = parts.port
    except ValueError:
        return variants
    # Work on the netloc text (not .hostname, which lower-cases) to change only the port.
    userinfo, at, host = parts.netloc.rpartition("@")
    if port is not None:
        host = host[: host.rfind(":")]
    host = host.rstrip(":")
    if not host:
        return variants
    variants.append(urlunsplit(parts._replace(netloc=f"{userinfo}{at}{host}")))
    default_port = _DEFAULT_PORTS.get(parts.scheme.lower())
    if port is None and default_port is not None:
        with_port = parts._replace(netloc=f"{userinfo}{at}{host}:{default_port}")
        variants.append(urlunsplit(with_port))
    return list(dict.fromkeys(variants))


def _twilio_param_string(params: Mapping[str, str | list[str]], *, dedupe: bool) -> str:
    pieces: list[str] = []
    for name in sorted(params):
        raw = params[name]
        values = [raw] if isinstance(raw, str) else list(raw)
        for value in sorted(set(values) if dedupe else values):
            pieces.append(name + value)
    return "".join(pieces)


def verify_twilio(
    auth_tokens: Sequence[str],
    url: str,
    params: Mapping[str, str | list[str]] | None,
    signature: str,
    *,
    body: bytes | None = None,
    signature_settings: str | None = None,
) -> None:
    """Check ``X-Twilio-Signature`` for a request to ``url`` (the public URL Twilio used).

    Form posts: HMAC over the URL followed by every ``name + value`` in name order (values
    of a repeated name sorted). JSON posts: the URL carries ``bodySHA256=<hex>``; only the
    URL is signed, and the body must hash to that value.
    """
    tokens = _require_secrets(auth_tokens)
    if not signature:
        raise WebhookVerificationError("missing_headers")
    algorithm = twilio_signature_algorithm(signature_settings)
    digest = _TWILIO_DIGESTS.get(algorithm)
    if digest is None:
        raise WebhookVerificationError("unsupported_algorithm")
    try:
        presented = base64.b64decode(signature, validate=True)
    except binascii.Error as exc:
        raise WebhookVerificationError("bad_signature") from exc

    body_hashes = parse_qs(urlsplit(url).query).get("bodySHA256")
    if body_hashes:
        if body is None:
            raise WebhookVerificationError("body_hash_mismatch")
        actual = hashlib.sha256(body).hexdigest().encode()
        # Bytes, not str: compare_digest refuses non-ASCII str, and the query is input.
        if not hmac.compare_digest(actual, body_hashes[0].lower().encode()):
            raise WebhookVerificationError("body_hash_mismatch")
        param_strings = [""]
    else:
        form = params or {}
        # Twilio's library drops repeated identical values; try the plain form as well.
        param_strings = list(
            dict.fromkeys(
                [_twilio_param_string(form, dedupe=True), _twilio_param_string(form, dedupe=False)]
            )
        )

    expected = [
        hmac.new(token.encode(), (variant + param_string).encode(), digest).digest()
        for token in tokens
        for variant in _twilio_url_variants(url)
        for param_string in param_strings
    ]
    if not _matches_any(presented, expected):
        raise WebhookVerificationError("bad_signature")


_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def public_url(
    scheme: str,
    host: str,
    path: str,
    query: str,
    *,
    configured_base_url: str | None,
    forwarded_headers: Mapping[str, str],
    trust_forwarded: bool,
) -> str:
    """Rebuild the URL the sender used, which is what Twilio signs.

    Behind a proxy the app sees its own scheme and host. A configured base URL (public
    origin, plus any path prefix the proxy strips) wins; otherwise, only when the proxy
    is trusted to set them, ``X-Forwarded-Proto`` / ``X-Forwarded-Host`` /
    ``X-Forwarded-Port`` or RFC 7239 ``Forwarded`` are used. ``path`` is the raw,
    still percent-encoded path and ``query`` the raw query string.
    """
    suffix = path + (f"?{query}" if query else "")
    if configured_base_url:
        return configured_base_url.rstrip("/") + suffix

    if trust_forwarded:
        lowered = _lower_keys(forwarded_headers)
        forwarded = _first_forwarded_element(lowered.get("forwarded", ""))
        proto = _first_value(lowered.get("x-forwarded-proto")) or forwarded.get("proto")
        fwd_host = _first_value(lowered.get("x-forwarded-host")) or forwarded.get("host")
        if proto and proto.lower() in _DEFAULT_PORTS:
            scheme = proto.lower()
        if fwd_host and _HOST.fullmatch(fwd_host):
            host = fwd_host
            port = _first_value(lowered.get("x-forwarded-port"))
            has_port = host.rsplit("]", 1)[-1].count(":") == 1
            default_port = _DEFAULT_PORTS.get(scheme)
            if port and port.isdigit() and not has_port and int(port) != default_port:
                host = f"{host}:{port}"
    return f"{scheme}://{host}{suffix}"


def _first_value(header: str | None) -> str | None:
    # Each proxy appends; the first entry is what the client (the sender) asked for.
    if not header:
        return None
    return header.split(",", 1)[0].strip() or None


def _first_forwarded_element(header: str) -> dict[str, str]:
    element = header.split(",", 1)[0]
    pairs: dict[str, str] = {}
    for pair in element.split(";"):
        name, separator, value = pair.partition("=")
        if separator:
            pairs[name.strip().lower()] = value.strip().strip('"')
    return pairs


# --- Vapi -----------------------------------------------------------------------------------

_VAPI_DIGESTS = {"sha256": hashlib.sha256, "sha512": hashlib.sha512, "sha1": hashlib.sha1}
_VAPI_PLACEHOLDER = re.compile(r"\{(body|timestamp|method|url|svix-id)\}")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")


@dataclass(frozen=True, slots=True)
class VapiHmacPlan:
    """A Vapi HMAC credential's ``authenticationPlan`` (VAPI.md §1b), Vapi's defaults."""

    signature_header: str = "x-signature"
    timestamp_header: str = "x-timestamp"
    include_timestamp: bool = True
    algorithm: str = "sha256"
    payload_format: str = "{timestamp}.{body}"
    signature_encoding: str = "hex"
    signature_prefix: str = ""
    secret_is_base64: bool = False
    message_id_header: str = "svix-id"


@dataclass(frozen=True, slots=True)
class VapiBearerPlan:
    """A Vapi Bearer credential: ``<headerName>: [Bearer ]<token>``."""

    header_name: str = "authorization"
    bearer_prefix: bool = True


def vapi_auth_plans(raw: Any) -> tuple[VapiHmacPlan | None, VapiBearerPlan | None]:
    """The credential a Vapi integration's ``settings.vapiAuth`` describes (camelCase, as
    Vapi names the fields); ``ValueError`` naming the field when it is not one."""
    if raw is None:
        return None, None
    if not isinstance(raw, Mapping):
        raise ValueError("vapiAuth: an object")
    kind = raw.get("type")

    def header(name: str, default: str) -> str:
        value = raw.get(name, default)
        if not isinstance(value, str) or not _HEADER_NAME.match(value):
            raise ValueError(f"vapiAuth.{name}: a header name")
        return value.lower()

    def flag(name: str, default: bool) -> bool:
        value = raw.get(name, default)
        if not isinstance(value, bool):
            raise ValueError(f"vapiAuth.{name}: true or false")
        return value

    if kind == "bearer":
        return None, VapiBearerPlan(
            header_name=header("headerName", "authorization"),
            bearer_prefix=flag("bearerPrefixEnabled", True),
        )
    if kind != "hmac":
        raise ValueError('vapiAuth.type: "hmac" or "bearer"')
    algorithm = raw.get("algorithm", "sha256")
    if algorithm not in _VAPI_DIGESTS:
        raise ValueError("vapiAuth.algorithm: sha256, sha512 or sha1")
    encoding = raw.get("signatureEncoding", "hex")
    if encoding not in ("hex", "base64"):
        raise ValueError("vapiAuth.signatureEncoding: hex or base64")
    payload_format = raw.get("payloadFormat", "{timestamp}.{body}")
    if not isinstance(payload_format, str) or "{body}" not in payload_format:
        raise ValueError("vapiAuth.payloadFormat: a format with {body}")
    prefix = raw.get("signaturePrefix") or ""
    if not isinstance(prefix, str) or len(prefix) > 32:
        raise ValueError("vapiAuth.signaturePrefix: at most 32 characters")
    return (
        VapiHmacPlan(
            signature_header=header("signatureHeader", "x-signature"),
            timestamp_header=header("timestampHeader", "x-timestamp"),
            include_timestamp=flag("includeTimestamp", True),
            algorithm=algorithm,
            payload_format=payload_format,
            signature_encoding=encoding,
            signature_prefix=prefix,
            secret_is_base64=flag("secretIsBase64", False),
            message_id_header=header("messageIdHeader", "svix-id"),
        ),
        None,
    )


def _vapi_hmac_matches(
    plan: VapiHmacPlan,
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str,
    url: str,
    now: float,
    tolerance_s: float,
) -> bool:
    presented = headers.get(plan.signature_header, "").strip()
    timestamp = headers.get(plan.timestamp_header, "")
    uses_timestamp = plan.include_timestamp or "{timestamp}" in plan.payload_format
    if uses_timestamp:
        if not timestamp:
            raise WebhookVerificationError("missing_headers")
        _check_vapi_timestamp(timestamp, now=now, tolerance_s=tolerance_s)
    values = {
        "timestamp": timestamp.encode(),
        "method": method.encode(),
        "url": url.encode(),
        "svix-id": headers.get(plan.message_id_header, "").encode(),
    }
    pieces: list[bytes] = []
    position = 0
    for match in _VAPI_PLACEHOLDER.finditer(plan.payload_format):
        pieces.append(plan.payload_format[position : match.start()].encode())
        pieces.append(body if match.group(1) == "body" else values[match.group(1)])
        position = match.end()
    pieces.append(plan.payload_format[position:].encode())
    signed = b"".join(pieces)
    if plan.signature_prefix:
        if not presented.startswith(plan.signature_prefix):
            return False
        presented = presented[len(plan.signature_prefix) :]
    try:
        given = (
            bytes.fromhex(presented)
            if plan.signature_encoding == "hex"
            else base64.b64decode(presented, validate=True)
        )
    except (ValueError, binascii.Error):
        return False
    keys = []
    for secret in secrets:
        try:
            keys.append(base64.b64decode(secret) if plan.secret_is_base64 else secret.encode())
        except (ValueError, binascii.Error):
            continue
    digest = _VAPI_DIGESTS[plan.algorithm]
    return _matches_any(given, [hmac.new(key, signed, digest).digest() for key in keys])


def verify_vapi(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: Callable[[], float] = time.time,
    tolerance_s: float = 300,
    hmac_plan: VapiHmacPlan | None = None,
    bearer_plan: VapiBearerPlan | None = None,
    method: str = "POST",
    url: str = "",
) -> None:
    """Check a Vapi server-URL request.

    Vapi authenticates its calls to our server in one of these ways (docs.vapi.ai,
    "Server authentication"):

    * ``X-Vapi-Secret: <secret>``: the server-URL ``secret`` (legacy inline field, or a
      Bearer Token credential whose header is ``X-Vapi-Secret``).
    * ``X-Signature`` (+ optional ``X-Timestamp``): an HMAC credential, whose defaults
      are SHA-256, hex, over ``"{timestamp}.{body}"`` (just the body without a
      timestamp); a ``sha256=`` prefix is tolerated. An integration may describe its HMAC
      credential (``hmac_plan``: header, algorithm, timestamp, payload format, encoding,
      prefix), which then replaces these defaults.
    * ``X-Vapi-Signature``: older docs put the plain secret there; we also accept an
      HMAC-SHA256 (hex) of the body in it. This is an assumption, not documented.
    * ``Authorization: Bearer <secret>``: the default Bearer Token credential; only
      looked at when no Vapi header is present, since callers may also send API keys.
      An integration may name another header (``bearer_plan``), with or without the prefix.

    Every Vapi credential presented must verify, and at least one must be present.
    """
    usable = _require_secrets(secrets)
    keys = [secret.encode() for secret in usable]
    lowered = _lower_keys(headers)
    checks: list[bool] = []

    # A Bearer credential in a header of its own, or in Authorization without the prefix
    # (Authorization with it is the default check below).
    if bearer_plan is not None and (
        bearer_plan.header_name != "authorization" or not bearer_plan.bearer_prefix
    ):
        presented = lowered.get(bearer_plan.header_name)
        if presented is not None:
            if bearer_plan.bearer_prefix:
                scheme, _, presented = presented.partition(" ")
                presented = presented if scheme.lower() == "bearer" else ""
            checks.append(_matches_any(presented.strip().encode(), keys))

    secret_header = lowered.get("x-vapi-secret")
    if secret_header is not None and (
        bearer_plan is None or bearer_plan.header_name != "x-vapi-secret"
    ):
        checks.append(_matches_any(secret_header.encode(), keys))

    vapi_signature = lowered.get("x-vapi-signature")
    if vapi_signature is not None and (
        hmac_plan is None or hmac_plan.signature_header != "x-vapi-signature"
    ):
        body_macs = [_hmac_sha256(key, body) for key in keys]
        checks.append(
            _matches_any(vapi_signature.encode(), keys)
            or _signature_matches(vapi_signature, body_macs)
        )

    if hmac_plan is not None:
        if hmac_plan.signature_header in lowered:
            checks.append(
                _vapi_hmac_matches(
                    hmac_plan,
                    usable,
                    lowered,
                    body,
                    method=method,
                    url=url,
                    now=now(),
                    tolerance_s=tolerance_s,
                )
            )
    else:
        hmac_signature = lowered.get("x-signature")
        if hmac_signature is not None:
            timestamp = lowered.get("x-timestamp")
            signed = body
            if timestamp is not None:
                _check_vapi_timestamp(timestamp, now=now(), tolerance_s=tolerance_s)
                signed = f"{timestamp}.".encode() + body
            checks.append(
                _signature_matches(hmac_signature, [_hmac_sha256(k, signed) for k in keys])
            )

    if not checks:
        scheme, _, credentials = lowered.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            checks.append(_matches_any(credentials.strip().encode(), keys))

    if not checks:
        raise WebhookVerificationError("missing_headers")
    if not all(checks):
        raise WebhookVerificationError("bad_signature")


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _signature_matches(presented: str, expected_macs: Sequence[bytes]) -> bool:
    """Compare a hex (or base64) MAC, with an optional ``sha256=`` prefix."""
    text = presented.strip().removeprefix("sha256=")
    decoded: list[bytes] = []
    with contextlib.suppress(ValueError):
        decoded.append(bytes.fromhex(text))
    with contextlib.suppress(binascii.Error):
        decoded.append(base64.b64decode(text, validate=True))
    return any(_matches_any(candidate, expected_macs) for candidate in decoded)


def _check_vapi_timestamp(raw: str, *, now: float, tolerance_s: float) -> None:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 13:
        raise WebhookVerificationError("invalid_headers")
    value = int(raw)
    # Seconds or milliseconds: not documented, so accept both (ms values are 13 digits).
    seconds = value / 1000 if value >= 10**11 else value
    if abs(now - seconds) > tolerance_s:
        raise WebhookVerificationError("timestamp_out_of_window")


# --- Chatwoot -----------------------------------------------------------------------------
# Chatwoot 4.11+ signs account webhooks (PR chatwoot/chatwoot#13573; agent bots and API
# inboxes from 4.13, #13892): ``X-Chatwoot-Signature: sha256=<hex HMAC-SHA256(secret,
# "{timestamp}.{raw body}")>`` with ``X-Chatwoot-Timestamp`` (unix seconds) and a delivery
# id, ``X-Chatwoot-Delivery``, reused on retries.


def verify_chatwoot(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: Callable[[], float] = time.time,
    tolerance_s: float = 300,
) -> None:
    keys = [secret.encode() for secret in _require_secrets(secrets)]
    lowered = _lower_keys(headers)
    signature = lowered.get("x-chatwoot-signature", "")
    timestamp = lowered.get("x-chatwoot-timestamp", "")
    if not (signature and timestamp):
        raise WebhookVerificationError("missing_headers")
    _check_timestamp(timestamp, now=now(), tolerance_s=tolerance_s)
    signed = f"{timestamp}.".encode() + body
    if not _signature_matches(signature, [_hmac_sha256(key, signed) for key in keys]):
        raise WebhookVerificationError("bad_signature")


# --- Zendesk ------------------------------------------------------------------------------
# Zendesk webhooks (developer.zendesk.com, "Verifying webhook authenticity"):
# ``X-Zendesk-Webhook-Signature: base64(HMAC-SHA256(signing secret, timestamp + raw body))``
# (no separator), ``X-Zendesk-Webhook-Signature-Timestamp`` in ISO 8601; Zendesk sets no
# window, so ours (WEBHOOK_TOLERANCE_SECONDS) applies. Each delivery attempt carries
# ``X-Zendesk-Webhook-Invocation-Id``.


def verify_zendesk(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: Callable[[], float] = time.time,
    tolerance_s: float = 300,
) -> None:
    keys = [secret.encode() for secret in _require_secrets(secrets)]
    lowered = _lower_keys(headers)
    signature = lowered.get("x-zendesk-webhook-signature", "")
    timestamp = lowered.get("x-zendesk-webhook-signature-timestamp", "")
    if not (signature and timestamp):
        raise WebhookVerificationError("missing_headers")
    try:
        moment = datetime.fromisoformat(timestamp.strip())
    except ValueError:
        raise WebhookVerificationError("invalid_headers") from None
    if moment.tzinfo is None or len(timestamp) > 40:
        raise WebhookVerificationError("invalid_headers")
    if abs(now() - moment.timestamp()) > tolerance_s:
        raise WebhookVerificationError("timestamp_out_of_window")
    try:
        presented = base64.b64decode(signature.strip(), validate=True)
    except binascii.Error:
        raise WebhookVerificationError("bad_signature") from None
    signed = timestamp.encode() + body
    if not _matches_any(presented, [_hmac_sha256(key, signed) for key in keys]):
        raise WebhookVerificationError("bad_signature")
