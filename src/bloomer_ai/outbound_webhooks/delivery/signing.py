"""Standard Webhooks signing, by the reference library (``standardwebhooks``).

Every attempt of an event carries the same ``webhook-id`` (the event's id: the
receiver's idempotency key), its own ``webhook-timestamp`` and a ``webhook-signature``
over ``{id}.{timestamp}.{body}`` with each current secret: during a rotation's overlap
two signatures, space-separated, so a receiver that holds either secret verifies it.
"""

from __future__ import annotations

import base64
import secrets as random_secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 32  # the spec asks for 24 to 64


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(random_secrets.token_bytes(SECRET_BYTES)).decode()


def signed_headers(
    webhook_id: str, body: bytes, signing_secrets: Sequence[str], now: datetime
) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt (``now``: timezone-aware)."""
    text = body.decode()
    signatures = " ".join(
        Webhook(secret).sign(msg_id=webhook_id, timestamp=now, data=text)
        for secret in signing_secrets
    )
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
    }
