"""Delivering events: one job per (event, endpoint), and the periodic retention purge.

A delivery job reads what to send in one short transaction, sends outside any
transaction (an attempt may take WEBHOOK_TIMEOUT_SECONDS), and records the attempt in
another. 2xx: delivered. 410: the endpoint is disabled (``gone``), no retry. A refused
address: no retry (it will not change by waiting). Anything else: retried with
exponential backoff and jitter (WEBHOOK_RETRY_FIRST_SECONDS × 3ⁿ, at most
WEBHOOK_RETRY_MAX_SECONDS apart) until WEBHOOK_RETRY_FOR_SECONDS after the event; then
the job ends ``failed``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.config import Settings, WebhookSettings
from bloomer_ai.jobs.retry import Backoff, GiveUp, RetryLater, backoff_delay
from bloomer_ai.jobs.tasks import CrossShopJob, ShopJob, periodic_task, shop_task
from bloomer_ai.kit.time import utcnow
from bloomer_ai.models import WebhookEvent
from bloomer_ai.outbound_webhooks.delivery.secrets import (
    signing_secrets as endpoint_signing_secrets,
)
from bloomer_ai.outbound_webhooks.delivery.sender import AttemptResult, Sender
from bloomer_ai.outbound_webhooks.delivery.signing import signed_headers
from bloomer_ai.outbound_webhooks.repository import (
    AttemptRepository,
    EndpointRepository,
    EventRepository,
    unscoped_purge_events,
)

log = structlog.get_logger("bloomer_ai.outbound_webhooks")

SENDER = "outbound_webhooks.sender"
RETRY_FACTOR = 3.0
# Only RetryLater is retried at the task's own pace; an unexpected error (the database
# away) gets a few retries of its own.
DELIVERY_RETRY = Backoff(max_attempts=5, first_seconds=30.0, factor=RETRY_FACTOR)


class DeliveryAbandoned(GiveUp):
    """Retried for WEBHOOK_RETRY_FOR_SECONDS without success."""


@dataclass(frozen=True)
class Delivery:
    """One attempt, ready to send."""

    event_id: uuid.UUID
    endpoint_id: uuid.UUID | None
    """None: the web app's platform endpoint."""
    event_created_at: datetime
    url: str
    signing_secrets: list[str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        """The same on every attempt and redelivery: the receiver's idempotency key."""
        return str(self.event_id)


def envelope(event: WebhookEvent) -> bytes:
    """The body every receiver gets (docs/webhooks.md)."""
    return orjson.dumps(
        {
            "id": str(event.id),
            "type": event.type,
            "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
            "shopId": str(event.shop_id),
            "data": event.payload,
        }
    )


async def plan_delivery(
    session: AsyncSession,
    settings: Settings,
    *,
    event_id: str,
    endpoint_id: str | None,
    redelivery: bool,
) -> Delivery | None:
    """What to send, or None when there is nothing to do: the event was purged, the
    endpoint deleted or disabled (or the platform endpoint unset), or — unless this is
    a redelivery — the event already reached it."""
    event = await EventRepository(session).get(event_id)
    if event is None:
        return None
    if endpoint_id is None:
        platform = settings.outbound
        url = platform.web_app_webhook_url
        signing_secrets = WebhookSettings.accepted(platform.web_app_webhook_secret)
        if not url or not signing_secrets:
            return None
        target_id = None
    else:
        endpoint = await EndpointRepository(session).get(endpoint_id)
        if endpoint is None or not endpoint.enabled:
            return None
        url, target_id = endpoint.url, endpoint.id
        signing_secrets = endpoint_signing_secrets(endpoint, settings.auth.keyring())
    if not redelivery and await AttemptRepository(session).delivered(event.id, target_id):
        return None
    return Delivery(event.id, target_id, event.created_at, url, signing_secrets, envelope(event))


async def record_attempt(
    session: AsyncSession, delivery: Delivery, result: AttemptResult, *, attempt: int
) -> None:
    await AttemptRepository(session).insert(
        event_id=delivery.event_id,
        endpoint_id=delivery.endpoint_id,
        attempt=attempt,
        outcome=result.outcome,
        status_code=result.status_code,
        error=result.error,
        duration_ms=result.duration_ms,
    )
    if result.outcome == "gone" and delivery.endpoint_id is not None:
        await EndpointRepository(session).disable_gone(delivery.endpoint_id)


def retry_delay(settings: Settings, attempts: int) -> float:
    outbound = settings.outbound
    return backoff_delay(
        attempts,
        outbound.webhook_retry_first_seconds,
        RETRY_FACTOR,
        outbound.webhook_retry_max_seconds,
    )


def sender_of(job: ShopJob) -> Sender:
    settings = job.settings
    return job.resources.shared(
        SENDER,
        lambda: Sender(
            timeout_seconds=settings.outbound.webhook_timeout_seconds,
            private_allowed=settings.webhook_private_targets_allowed,
        ),
    )


@shop_task("webhooks.deliver", retry=DELIVERY_RETRY)
async def deliver(
    job: ShopJob, *, event_id: str, endpoint_id: str | None, redelivery: bool = False
) -> None:
    """Send one event to one endpoint (None: the web app's). A second run of the same
    job (its worker died mid-attempt) sends again only if no attempt succeeded, and with
    the same ``webhook-id``, on which receivers de-duplicate (Standard Webhooks)."""
    async with job.transaction() as session:
        delivery = await plan_delivery(
            session,
            job.settings,
            event_id=event_id,
            endpoint_id=endpoint_id,
            redelivery=redelivery,
        )
    if delivery is None:
        return
    headers = signed_headers(delivery.webhook_id, delivery.body, delivery.signing_secrets, utcnow())
    result = await sender_of(job).send(delivery.url, headers, delivery.body)
    async with job.transaction() as session:
        await record_attempt(session, delivery, result, attempt=job.attempts + 1)
    log.info(
        "webhook_attempt",
        event_id=event_id,
        endpoint_id=endpoint_id,
        attempt=job.attempts + 1,
        outcome=result.outcome,
        status_code=result.status_code,
        error=result.error,
        duration_ms=result.duration_ms,
    )
    if result.final:
        return
    delay = retry_delay(job.settings, job.attempts)
    deadline = delivery.event_created_at + timedelta(
        seconds=job.settings.outbound.webhook_retry_for_seconds
    )
    if utcnow() + timedelta(seconds=delay) > deadline:
        raise DeliveryAbandoned(f"not delivered after {job.attempts + 1} attempts")
    raise RetryLater(delay, result.error or f"status {result.status_code}")


@periodic_task("webhooks.purge_events", every=3600)
async def purge_events(job: CrossShopJob) -> None:
    """Delete events (and their attempts) older than WEBHOOK_EVENT_RETENTION_DAYS, every
    shop's, through ``purge_webhook_events`` (the cross-shop path). A second run deletes
    what has become old since."""
    async with job.transaction() as session:
        deleted = await unscoped_purge_events(
            session, job.settings.outbound.webhook_event_retention_days
        )
    if deleted:
        log.info("webhook_events_purged", count=deleted)
