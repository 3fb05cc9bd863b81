"""Integrations: a shop's connections to providers, their sealed secrets, and the inbound
deliveries they send.

Functions take a session bound to the shop (the operator's for re-sealing) and plain
values, never commit, and raise the domain's errors. Secrets are sealed with the keyring
(AES-256-GCM, bound to the integration's shop and id) and leave this module only as the
signing secrets an inbound check needs: never in an answer, a log line or an error.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.idempotency.store import purge_expired_keys
from bloomer_ai.integrations import repository
from bloomer_ai.integrations.errors import (
    IntegrationNotFound,
    InvalidIntegration,
    SecretsUnreadable,
)
from bloomer_ai.integrations.repository import IntegrationRef, IntegrationRepository
from bloomer_ai.integrations.schemas import IntegrationCreate, IntegrationUpdate
from bloomer_ai.kit.crypto import secret_list
from bloomer_ai.kit.encryption import DecryptionFailed, Keyring, Sealed
from bloomer_ai.kit.ids import new_id
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.kit.time import utcnow
from bloomer_ai.kit.validation import normalise_phone
from bloomer_ai.models import Integration
from bloomer_ai.outbound_webhooks.schemas import EventType
from bloomer_ai.outbound_webhooks.service import record_event
from bloomer_ai.shops import service as shops
from bloomer_ai.webhooks import inbox
from bloomer_ai.webhooks.verify import is_standard_webhook_secret, vapi_auth_plans

log = structlog.get_logger("bloomer_ai.integrations")

KINDS_OF_PROVIDER: dict[str, frozenset[str]] = {
    "twilio": frozenset({"voice"}),
    "vapi": frozenset({"voice"}),
    "lilli": frozenset({"voice", "support"}),
    "chatwoot": frozenset({"support"}),
    "zendesk": frozenset({"support"}),
}
SIGNING_SECRET: dict[str, str] = {
    "twilio": "authToken",
    "vapi": "serverSecret",
    "lilli": "webhookSecret",
    "chatwoot": "webhookSecret",
    "zendesk": "webhookSecret",
}
SECRET_NAMES: dict[str, frozenset[str]] = {
    "twilio": frozenset({"authToken"}),
    "vapi": frozenset({"serverSecret"}),
    "lilli": frozenset({"webhookSecret"}),
    "chatwoot": frozenset({"webhookSecret", "apiAccessToken"}),
    "zendesk": frozenset({"webhookSecret", "apiToken"}),
}
MAX_SETTINGS_BYTES = 16_384

Change = Literal["created", "updated", "deleted"]


def _invalid(field: str, message: str) -> InvalidIntegration:
    """A fault of the request body's ``field`` (docs/api.md: ``body.…`` paths)."""
    return InvalidIntegration(
        f"{field}: {message}.",
        details=[{"field": f"body.{field}", "message": message, "type": "value"}],
    )


# --- the inbound URL ----------------------------------------------------------------------


def inbound_path(kind: str, integration_id: uuid.UUID) -> str:
    return f"/api/ai/{kind}/webhook/{integration_id}"


def inbound_url(base_url: str, integration: Integration) -> str:
    """What to configure at the provider: the integration names provider, secret and shop."""
    return base_url.rstrip("/") + inbound_path(integration.kind, integration.id)


# --- sealed secrets -----------------------------------------------------------------------


def _associated_data(shop_id: uuid.UUID, integration_id: uuid.UUID) -> bytes:
    return f"integrations/{shop_id}/{integration_id}".encode()


def _seal(integration: Integration, secrets: Mapping[str, str], keyring: Keyring) -> None:
    if not secrets:
        integration.secrets_key_id = None
        integration.secrets_ciphertext = None
        integration.secret_names = []
        return
    plaintext = json.dumps(dict(sorted(secrets.items())), separators=(",", ":")).encode()
    sealed = keyring.seal(plaintext, _associated_data(integration.shop_id, integration.id))
    integration.secrets_key_id = sealed.key_id
    integration.secrets_ciphertext = sealed.blob
    integration.secret_names = sorted(secrets)


def open_secrets(integration: Integration | IntegrationRef, keyring: Keyring) -> dict[str, str]:
    """The integration's secrets, in the clear: for the inbound check and the provider
    clients of later features. Never return them to a caller of the API."""
    if integration.secrets_ciphertext is None or integration.secrets_key_id is None:
        return {}
    sealed = Sealed(integration.secrets_key_id, integration.secrets_ciphertext)
    try:
        opened = keyring.open(sealed, _associated_data(integration.shop_id, integration.id))
    except DecryptionFailed:
        log.error(
            "integration_secrets_unreadable",
            integration_id=str(integration.id),
            sealed_with=integration.secrets_key_id,
            keyring=keyring.key_ids,
        )
        raise SecretsUnreadable() from None
    secrets: dict[str, str] = json.loads(opened)
    return secrets


def signing_secrets(integration: Integration | IntegrationRef, keyring: Keyring) -> list[str]:
    """The secrets an inbound delivery's signature may be made with (several while the
    provider rotates: comma-separated, newest first)."""
    return secret_list(
        open_secrets(integration, keyring).get(SIGNING_SECRET[integration.provider], "")
    )


async def shop_signing_secrets(session: AsyncSession, provider: str, keyring: Keyring) -> list[str]:
    """Every signing secret of the session's shop's active integrations with ``provider``
    (a callback from that provider may be signed with any of them). An integration whose
    secrets cannot be opened is skipped (and logged, with the key's id)."""
    secrets: list[str] = []
    for integration in await IntegrationRepository(session).active_of_provider(provider):
        try:
            secrets.extend(signing_secrets(integration, keyring))
        except SecretsUnreadable:
            continue
    return secrets


def _check_secret_names(provider: str, names: Iterable[str]) -> None:
    allowed = SECRET_NAMES[provider]
    for name in names:
        if name not in allowed:
            raise _invalid(
                f"secrets.{name}", f"{provider} takes the secrets {', '.join(sorted(allowed))}"
            )


def _checked_secrets(provider: str, secrets: Mapping[str, str]) -> dict[str, str]:
    _check_secret_names(provider, secrets)
    signing = SIGNING_SECRET[provider]
    if not secrets.get(signing, "").strip():
        raise _invalid(f"secrets.{signing}", f"{provider} needs {signing} to check its webhooks")
    if provider == "lilli":
        for part in secret_list(secrets[signing]):
            if not is_standard_webhook_secret(part):
                raise _invalid(
                    f"secrets.{signing}", "a Standard Webhooks secret (whsec_ and base64)"
                )
    return dict(secrets)


# --- checks -----------------------------------------------------------------------------------


def _check_kind(provider: str, kind: str) -> None:
    if kind not in KINDS_OF_PROVIDER[provider]:
        allowed = " or ".join(sorted(KINDS_OF_PROVIDER[provider]))
        raise _invalid("kind", f"{provider} integrations are {allowed}")


def _check_settings(settings: Mapping[str, Any], provider: str | None = None) -> None:
    if len(json.dumps(settings, separators=(",", ":"))) > MAX_SETTINGS_BYTES:
        raise _invalid("settings", f"at most {MAX_SETTINGS_BYTES} bytes of JSON")
    if "vapiAuth" in settings:
        if provider != "vapi":
            raise _invalid("settings.vapiAuth", "only Vapi integrations have a credential plan")
        try:
            vapi_auth_plans(settings["vapiAuth"])
        except ValueError as exc:
            field, _, message = str(exc).partition(": ")
            raise _invalid(f"settings.{field}", message) from None


async def _phone_number(session: AsyncSession, raw: str | None, kind: str) -> str | None:
    if raw is None:
        return None
    if kind != "voice":
        raise _invalid("phoneNumber", "only voice integrations have a phone number")
    country = (await shops.shop_profile(session)).country
    normalised = normalise_phone(raw, country)
    if normalised is None:
        raise _invalid("phoneNumber", "a phone number, e.g. +31 20 123 4567")
    return normalised


# --- the shop's integrations ----------------------------------------------------------------


async def create_integration(
    session: AsyncSession, body: IntegrationCreate, keyring: Keyring
) -> Integration:
    _check_kind(body.provider, body.kind)
    _check_settings(body.settings, body.provider)
    secrets = _checked_secrets(
        body.provider, {name: value.get_secret_value() for name, value in body.secrets.items()}
    )
    integrations = IntegrationRepository(session)
    integration = Integration(
        id=new_id(),
        shop_id=integrations.shop_id,
        provider=body.provider,
        kind=body.kind,
        external_account_id=body.external_account_id,
        phone_number=await _phone_number(session, body.phone_number, body.kind),
        settings=dict(body.settings),
        status=body.status,
    )
    _seal(integration, secrets, keyring)
    await integrations.insert(integration)
    await record_integration_updated(session, integration, change="created")
    return integration


async def list_integrations(
    session: AsyncSession,
    params: PageParams,
    *,
    kind: str | None = None,
    provider: str | None = None,
) -> tuple[Sequence[Integration], str | None]:
    return await IntegrationRepository(session).page(params, kind=kind, provider=provider)


async def get_integration(session: AsyncSession, integration_id: str | uuid.UUID) -> Integration:
    """An integration of the session's shop; another shop's, or none: 404."""
    integration = await IntegrationRepository(session).get(integration_id)
    if integration is None:
        raise IntegrationNotFound()
    return integration


async def update_integration(
    session: AsyncSession, integration_id: str, body: IntegrationUpdate, keyring: Keyring
) -> Integration:
    integration = await get_integration(session, integration_id)
    sent = body.model_fields_set
    if "external_account_id" in sent:
        integration.external_account_id = body.external_account_id
    if "phone_number" in sent:
        integration.phone_number = await _phone_number(session, body.phone_number, integration.kind)
    if "settings" in sent and body.settings is not None:
        _check_settings(body.settings, integration.provider)
        integration.settings = dict(body.settings)
    if "status" in sent and body.status is not None:
        integration.status = body.status
    if "secrets" in sent and body.secrets is not None:
        _check_secret_names(integration.provider, body.secrets)
        secrets = open_secrets(integration, keyring)
        for name, value in body.secrets.items():
            if value is None:
                secrets.pop(name, None)
            else:
                secrets[name] = value.get_secret_value()
        _seal(integration, _checked_secrets(integration.provider, secrets), keyring)
    integration.updated_at = utcnow()
    await IntegrationRepository(session).save(integration)
    await record_integration_updated(session, integration, change="updated")
    return integration


async def delete_integration(session: AsyncSession, integration_id: str) -> None:
    integration = await get_integration(session, integration_id)
    await IntegrationRepository(session).delete(integration)
    await record_integration_updated(session, integration, change="deleted")


# --- the outbound event ---------------------------------------------------------------------


def integration_event_payload(integration: Integration, change: Change) -> dict[str, Any]:
    """The ``integration.updated`` event's data: what the integration is, never a secret."""
    return {
        "id": str(integration.id),
        "shopId": str(integration.shop_id),
        "change": change,
        "provider": integration.provider,
        "kind": integration.kind,
        "status": integration.status,
        "externalAccountId": integration.external_account_id,
        "phoneNumber": integration.phone_number,
        "secretsSet": list(integration.secret_names),
    }


async def record_integration_updated(
    session: AsyncSession, integration: Integration, *, change: Change
) -> dict[str, Any]:
    """The one call site of the ``integration.updated`` outbound event: every create,
    change and delete of an integration passes here, and the event is recorded in the
    transaction of the change (delivered by jobs after it commits; never for a rollback)."""
    payload = integration_event_payload(integration, change)
    await record_event(session, integration.shop_id, EventType.INTEGRATION_UPDATED, payload)
    log.info(
        "integration_changed",
        integration_id=payload["id"],
        change=change,
        provider=payload["provider"],
    )
    return payload


# --- operators: re-sealing after a key rotation ---------------------------------------------


async def operator_reseal_secrets(
    session: AsyncSession, keyring: Keyring, *, batch_size: int = 200
) -> int:
    """Re-seal (every shop's) integration secrets sealed under a key other than the
    keyring's first, one batch; returns how many. Run until it returns 0, then the old key
    can leave DATA_ENCRYPTION_KEY. On the owner's connection (an operator command)."""
    rows = await repository.operator_sealed_under_other_keys(
        session, keyring.current_key_id, batch_size
    )
    for integration in rows:
        _seal(integration, open_secrets(integration, keyring), keyring)
    await session.flush()
    return len(rows)


# --- lookups before the shop is known (the inbound routes) ------------------------------------


async def find_integration_ref(
    session: AsyncSession, integration_id: uuid.UUID
) -> IntegrationRef | None:
    return await repository.lookup_integration(session, integration_id)


async def find_integration_by_number(
    session: AsyncSession, phone_number: str
) -> IntegrationRef | None:
    return await repository.lookup_integration_by_number(session, phone_number)


async def find_integration_by_account(
    session: AsyncSession, provider: str, account: str
) -> IntegrationRef | None:
    """The one integration of this provider account, or None (none, or several shops)."""
    found = await repository.lookup_integrations_by_account(session, provider, account)
    return found[0] if len(found) == 1 else None


# --- retention (periodic, across shops) -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Purged:
    webhook_bodies: int
    idempotency_keys: int


async def purge_expired(
    session: AsyncSession, *, webhook_retention: timedelta, now: datetime | None = None
) -> Purged:
    """The retention purge, for every shop at once: raw bodies and answers of webhook
    deliveries older than ``webhook_retention`` (their records stay, so a late repeat is
    still known), and expired idempotency keys. Through SECURITY DEFINER functions, the
    documented cross-shop path: ``session`` need not be bound to a shop. Idempotent: a
    second run finds nothing more to do. Scheduled by the jobs package as a periodic task
    (``WEBHOOK_RETENTION_DAYS``)."""
    moment = now or utcnow()
    bodies = await inbox.purge_bodies(session, before=moment - webhook_retention)
    keys = await purge_expired_keys(session, now=moment)
    if bodies or keys:
        log.info("retention_purged", webhook_bodies=bodies, idempotency_keys=keys)
    return Purged(bodies, keys)
