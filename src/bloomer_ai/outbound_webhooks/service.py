"""Outbound webhooks: a shop's endpoints, and events recorded with the change they tell of.

``record_event(session, shop_id, type, payload)`` is how any domain announces something:
the event row and its delivery jobs (one per enabled endpoint that takes the type, one
for the web app's platform endpoint) are written in the caller's transaction, so a
rolled-back change announces nothing and a committed one is always delivered.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.db.tenancy import TenancyViolation
from bloomer_ai.kit.encryption import Keyring
from bloomer_ai.kit.ids import new_id
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.kit.time import utcnow
from bloomer_ai.models import WebhookAttempt, WebhookEndpoint, WebhookEvent
from bloomer_ai.outbound_webhooks.delivery.secrets import open_secrets, seal_secrets
from bloomer_ai.outbound_webhooks.delivery.signing import new_secret
from bloomer_ai.outbound_webhooks.delivery.targets import TargetRefused, parse_target
from bloomer_ai.outbound_webhooks.delivery.tasks import deliver
from bloomer_ai.outbound_webhooks.errors import (
    EndpointNotFound,
    EventNotFound,
    InvalidEndpointUrl,
)
from bloomer_ai.outbound_webhooks.repository import (
    AttemptRepository,
    EndpointRepository,
    EventRepository,
    operator_sealed_under_other_keys,
)
from bloomer_ai.outbound_webhooks.schemas import EventType

REFUSALS = {
    "not_a_url": "not an http(s) URL",
    "https_required": "must be https",
    "credentials_in_url": "must not carry a user name or password",
    "private_address": "must not be a loopback, private or reserved address",
    "unresolvable": "the name does not resolve",
}


# --- events -----------------------------------------------------------------------------------


async def record_event(
    session: AsyncSession, shop_id: uuid.UUID, type: str, payload: Mapping[str, Any]
) -> WebhookEvent:
    """Record an event of the session's shop and defer its deliveries, in the session's
    transaction. ``type`` is an ``EventType`` value; ``payload`` (JSON, camelCase) is the
    event's ``data`` (docs/webhooks.md)."""
    event_type = EventType(type)  # an unknown type is a bug: ValueError
    events = EventRepository(session)
    if events.shop_id != shop_id:
        raise TenancyViolation("an event is recorded on a session bound to its shop")
    event = await events.insert(event_type.value, dict(payload))
    endpoints = await EndpointRepository(session).subscribed(event_type.value)
    await _defer_deliveries(session, event, endpoints, redelivery=False)
    return event


async def _defer_deliveries(
    session: AsyncSession,
    event: WebhookEvent,
    endpoint_ids: Sequence[uuid.UUID],
    *,
    redelivery: bool,
) -> None:
    # The web app's platform endpoint always gets its job: the job finds out whether
    # WEB_APP_WEBHOOK_URL is set (a service keeps no settings of its own).
    targets: list[str | None] = [*(str(endpoint_id) for endpoint_id in endpoint_ids), None]
    await deliver.defer_many(
        session,
        [
            {"event_id": str(event.id), "endpoint_id": target, "redelivery": redelivery}
            for target in targets
        ],
    )


async def redeliver(session: AsyncSession, event_id: str) -> tuple[WebhookEvent, int]:
    """Send an event again to every enabled endpoint that takes its type, even where it
    was delivered, with the same ``webhook-id``; the number of the shop's endpoints."""
    event = await EventRepository(session).get(event_id)
    if event is None:
        raise EventNotFound()
    endpoints = await EndpointRepository(session).subscribed(event.type)
    await _defer_deliveries(session, event, endpoints, redelivery=True)
    return event, len(endpoints)


async def list_attempts(
    session: AsyncSession,
    params: PageParams,
    *,
    endpoint_id: uuid.UUID | None = None,
    event_id: uuid.UUID | None = None,
) -> tuple[Sequence[WebhookAttempt], str | None]:
    return await AttemptRepository(session).page(params, endpoint_id=endpoint_id, event_id=event_id)


# --- endpoints --------------------------------------------------------------------------------


def check_url(url: str, *, private_allowed: bool) -> str:
    """The URL as stored, or 422 with why it cannot be used (addresses its name resolves
    to are checked at every attempt)."""
    try:
        parse_target(url, private_allowed=private_allowed)
    except TargetRefused as refused:
        raise InvalidEndpointUrl(
            details=[{"field": "body.url", "message": REFUSALS[refused.code], "type": refused.code}]
        ) from None
    return url.strip()


async def create_endpoint(
    session: AsyncSession,
    *,
    url: str,
    description: str | None,
    event_types: Sequence[EventType],
    enabled: bool,
    private_allowed: bool,
    keyring: Keyring,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (returned once, never again; stored sealed)."""
    secret = new_secret()
    endpoints = EndpointRepository(session)
    endpoint_id = new_id()
    key_id, ciphertext = seal_secrets(
        endpoints.shop_id, endpoint_id, keyring, current=secret, previous=None
    )
    endpoint = await endpoints.insert(
        id=endpoint_id,
        url=check_url(url, private_allowed=private_allowed),
        description=description,
        event_types=sorted({event_type.value for event_type in event_types}),
        enabled=enabled,
        secrets_key_id=key_id,
        secrets_ciphertext=ciphertext,
    )
    return endpoint, secret


async def get_endpoint(session: AsyncSession, endpoint_id: str) -> WebhookEndpoint:
    endpoint = await EndpointRepository(session).get(endpoint_id)
    if endpoint is None:
        raise EndpointNotFound()
    return endpoint


async def list_endpoints(
    session: AsyncSession, params: PageParams
) -> tuple[Sequence[WebhookEndpoint], str | None]:
    return await EndpointRepository(session).page(params)


async def update_endpoint(
    session: AsyncSession, endpoint_id: str, changes: Mapping[str, Any], *, private_allowed: bool
) -> WebhookEndpoint:
    endpoint = await get_endpoint(session, endpoint_id)
    if "url" in changes:
        endpoint.url = check_url(changes["url"], private_allowed=private_allowed)
    if "description" in changes:
        endpoint.description = changes["description"]
    if "event_types" in changes:
        endpoint.event_types = sorted({EventType(item).value for item in changes["event_types"]})
    if "enabled" in changes:
        endpoint.enabled = changes["enabled"]
        endpoint.disabled_reason = None
    return await EndpointRepository(session).save(endpoint)


async def delete_endpoint(session: AsyncSession, endpoint_id: str) -> None:
    """The endpoint and its attempts; queued deliveries to it find nothing and stop."""
    repository = EndpointRepository(session)
    endpoint = await get_endpoint(session, endpoint_id)
    await repository.delete(endpoint)


async def rotate_secret(
    session: AsyncSession, endpoint_id: str, *, overlap_seconds: int, keyring: Keyring
) -> tuple[WebhookEndpoint, str]:
    """A new secret (returned once); the current one keeps signing too (a second
    signature) for ``overlap_seconds``, so the receiver can switch without a gap."""
    endpoint = await get_endpoint(session, endpoint_id)
    secret = new_secret()
    current = open_secrets(endpoint, keyring).current
    endpoint.secrets_key_id, endpoint.secrets_ciphertext = seal_secrets(
        endpoint.shop_id, endpoint.id, keyring, current=secret, previous=current
    )
    endpoint.previous_secret_expires_at = utcnow() + timedelta(seconds=overlap_seconds)
    return await EndpointRepository(session).save(endpoint), secret


async def operator_reseal_secrets(
    session: AsyncSession, keyring: Keyring, *, batch_size: int = 200
) -> int:
    """Re-seal (every shop's) endpoint secrets sealed under a key other than the keyring's
    first, one batch; returns how many (``bloomer-ai integrations reseal`` runs it with
    the integrations'). On the owner's connection (an operator command)."""
    rows = await operator_sealed_under_other_keys(session, keyring.current_key_id, batch_size)
    for endpoint in rows:
        secrets = open_secrets(endpoint, keyring)
        endpoint.secrets_key_id, endpoint.secrets_ciphertext = seal_secrets(
            endpoint.shop_id,
            endpoint.id,
            keyring,
            current=secrets.current,
            previous=secrets.previous,
        )
    await session.flush()
    return len(rows)
