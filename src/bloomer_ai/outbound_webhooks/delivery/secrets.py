"""An endpoint's signing secrets at rest: sealed with the keyring (``DATA_ENCRYPTION_KEY``,
AES-256-GCM, kit/encryption.py) as integration secrets are, and bound to the endpoint's
row (its shop and id), so a sealed value copied into another row does not open there.
Opened only to sign a delivery or to keep the current secret through a rotation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import orjson
import structlog

from bloomer_ai.kit.encryption import DecryptionFailed, Keyring, Sealed
from bloomer_ai.kit.time import utcnow
from bloomer_ai.models import WebhookEndpoint
from bloomer_ai.outbound_webhooks.errors import EndpointSecretUnreadable

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class EndpointSecrets:
    current: str
    previous: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return "EndpointSecrets(…)"


def associated_data(shop_id: uuid.UUID, endpoint_id: uuid.UUID) -> bytes:
    return f"webhook_endpoints/{shop_id}/{endpoint_id}".encode()


def seal_secrets(
    shop_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    keyring: Keyring,
    *,
    current: str,
    previous: str | None,
) -> tuple[str, bytes]:
    plaintext = orjson.dumps({"current": current, "previous": previous})
    sealed = keyring.seal(plaintext, associated_data(shop_id, endpoint_id))
    return sealed.key_id, sealed.blob


def open_secrets(endpoint: WebhookEndpoint, keyring: Keyring) -> EndpointSecrets:
    """The endpoint's signing secrets in the clear, for signing only: never returned to a
    caller after creation or rotation, never logged."""
    sealed = Sealed(endpoint.secrets_key_id, endpoint.secrets_ciphertext)
    try:
        opened = keyring.open(sealed, associated_data(endpoint.shop_id, endpoint.id))
    except DecryptionFailed:
        log.error(
            "webhook_endpoint_secret_unreadable",
            endpoint_id=str(endpoint.id),
            sealed_with=endpoint.secrets_key_id,
            keyring=keyring.key_ids,
        )
        raise EndpointSecretUnreadable() from None
    values = orjson.loads(opened)
    return EndpointSecrets(current=values["current"], previous=values.get("previous"))


def signing_secrets(endpoint: WebhookEndpoint, keyring: Keyring) -> list[str]:
    """What a delivery is signed with: the current secret, and the previous one while its
    overlap lasts."""
    secrets = open_secrets(endpoint, keyring)
    expires = endpoint.previous_secret_expires_at
    if secrets.previous and expires is not None and expires > utcnow():
        return [secrets.current, secrets.previous]
    return [secrets.current]
