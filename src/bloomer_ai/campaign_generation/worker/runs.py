"""The state changes of a generation request, each in the caller's transaction on the row
locked for it (``GenerationRepository.get_for_update``), so a run, a callback, a cancel
and the expiry take turns and the first to finish the request wins:

``pending → processing → (awaiting_callback) → completed | failed | cancelled``

Finishing records ``campaign.generation.completed`` / ``.failed`` in the same transaction
(docs/webhooks.md). A run reads in one transaction, waits for the provider outside any,
and writes in another; the write happens only while the request is still ``processing``,
so a second run (a killed worker's job run again) or a late one never writes twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.campaign_generation.providers import Accepted, Brief, ShopFacts, Variant
from bloomer_ai.campaign_generation.repository import GenerationRepository
from bloomer_ai.campaign_generation.schemas import GenerationRead
from bloomer_ai.config import Settings
from bloomer_ai.models import CampaignGenerationRequest
from bloomer_ai.outbound_webhooks.schemas import EventType
from bloomer_ai.outbound_webhooks.service import record_event
from bloomer_ai.shops import service as shops

log = structlog.get_logger("bloomer_ai.campaign_generation")

RUNNABLE = ("pending", "processing")
RETRY_FACTOR = 3.0
LOST = (
    "generation_lost",
    "The generation stopped without a result (its job failed or is gone); ask again.",
)
DEADLINE_PASSED = (
    "callback_deadline_passed",
    "Lilli did not deliver the result before the deadline.",
)


def to_read(row: CampaignGenerationRequest) -> GenerationRead:
    return GenerationRead.model_validate(
        {
            "id": row.id,
            "campaign_id": row.campaign_id,
            "status": row.status,
            "input": row.input,
            "output": row.output,
            "attempts": row.attempts,
            "error": {"code": row.error_code, "message": row.error_message or ""}
            if row.error_code
            else None,
            "completed_by": row.completed_by,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "started_at": row.started_at,
            "awaiting_callback_at": row.awaiting_callback_at,
            "callback_deadline_at": row.callback_deadline_at,
            "completed_at": row.completed_at,
            "failed_at": row.failed_at,
            "cancelled_at": row.cancelled_at,
        }
    )


def event_payload(row: CampaignGenerationRequest) -> dict[str, Any]:
    """The request as `GET` shows it, without its input (the staff's notes stay here)."""
    read = to_read(row).model_dump(mode="json", by_alias=True, exclude={"input"})
    return {"generation": read}


def brief_of(
    row: CampaignGenerationRequest, shop: ShopFacts, *, callback_url: str | None = None
) -> Brief:
    brief: Mapping[str, Any] = row.brief
    occasion = brief["occasion"]
    return Brief(
        request_id=str(row.id),
        shop=shop,
        occasion_key=occasion["key"],
        occasion_name=occasion["name"],
        occasion_date=date.fromisoformat(occasion["date"]),
        channel=brief["channel"],
        language=brief["language"],
        variants=int(brief["variants"]),
        segment=brief.get("segment"),
        tone=brief.get("tone"),
        notes=row.input.get("notes"),
        callback_url=callback_url,
    )


def callback_url(settings: Settings, request_id: uuid.UUID) -> str | None:
    """Where Lilli delivers a result it accepted for later (PUBLIC_BASE_URL unset: none is
    sent and Lilli uses the one it was configured with)."""
    base = settings.webhooks.public_base_url
    if not base:
        return None
    return f"{base.rstrip('/')}/api/ai/campaigns/generate/{request_id}/result"


# --- finishing ------------------------------------------------------------------------------


async def complete(
    session: AsyncSession,
    row: CampaignGenerationRequest,
    variants: Sequence[Variant],
    *,
    provider: str,
    by: str,
    now: datetime,
    callback_id: str | None = None,
) -> CampaignGenerationRequest:
    brief = row.brief
    row.output = {
        "variants": [variant.to_json() for variant in variants],
        "occasion": brief["occasion"],
        "channel": brief["channel"],
        "language": brief["language"],
        "provider": provider,
    }
    row.status, row.completed_at, row.completed_by = "completed", now, by
    row.provider = provider
    row.error_code = row.error_message = None
    row.callback_id = callback_id
    row = await GenerationRepository(session).save(row)
    await record_event(
        session, row.shop_id, EventType.CAMPAIGN_GENERATION_COMPLETED, event_payload(row)
    )
    log.info("campaign_generation_completed", request_id=str(row.id), by=by, provider=provider)
    return row


async def fail(
    session: AsyncSession,
    row: CampaignGenerationRequest,
    code: str,
    message: str,
    *,
    now: datetime,
    callback_id: str | None = None,
) -> CampaignGenerationRequest:
    row.status, row.failed_at = "failed", now
    row.error_code, row.error_message = code, message[:300]
    row.callback_id = callback_id
    row = await GenerationRepository(session).save(row)
    await record_event(
        session, row.shop_id, EventType.CAMPAIGN_GENERATION_FAILED, event_payload(row)
    )
    log.info("campaign_generation_failed", request_id=str(row.id), error_code=code)
    return row


# --- a run of the worker ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    brief: Brief
    attempts: int


async def start_run(
    session: AsyncSession, request_id: str, settings: Settings, now: datetime
) -> Run | None:
    """Mark the request ``processing`` and count the run; None when there is nothing to
    do (cancelled, finished, or with Lilli)."""
    row = await GenerationRepository(session).get_for_update(request_id)
    if row is None or row.status not in RUNNABLE:
        return None
    row.status = "processing"
    row.attempts += 1
    row.started_at = row.started_at or now
    await session.flush()
    profile = await shops.shop_profile(session)
    shop = ShopFacts(str(profile.id), profile.name, profile.country, profile.timezone)
    return Run(brief_of(row, shop, callback_url=callback_url(settings, row.id)), row.attempts)


async def record_run_failure(
    session: AsyncSession,
    request_id: str,
    code: str,
    message: str,
    settings: Settings,
    now: datetime,
) -> float | None:
    """A run failed: the seconds until the next run, or None when the request failed for
    good (CAMPAIGN_GENERATION_MAX_ATTEMPTS runs) or is no longer this run's to change."""
    row = await GenerationRepository(session).get_for_update(request_id)
    if row is None or row.status != "processing":
        return None
    ai = settings.ai
    if row.attempts >= ai.campaign_generation_max_attempts:
        await fail(session, row, code, message, now=now)
        return None
    row.error_code, row.error_message = code, message[:300]
    await GenerationRepository(session).save(row)
    return float(ai.campaign_generation_retry_seconds * RETRY_FACTOR ** (row.attempts - 1))


async def finish_run(
    session: AsyncSession,
    request_id: str,
    result: Sequence[Variant] | Accepted,
    *,
    provider: str,
    settings: Settings,
    now: datetime,
) -> None:
    """Write what the provider gave, once: only while the request is still ``processing``
    (a cancel, a callback or another run may have finished it meanwhile)."""
    row = await GenerationRepository(session).get_for_update(request_id)
    if row is None or row.status != "processing":
        log.info("campaign_generation_result_dropped", request_id=request_id)
        return
    if isinstance(result, Accepted):
        row.status, row.awaiting_callback_at = "awaiting_callback", now
        row.provider = provider
        row.callback_deadline_at = now + timedelta(
            seconds=settings.ai.campaign_callback_deadline_seconds
        )
        row.error_code = row.error_message = None
        await GenerationRepository(session).save(row)
        return
    await complete(session, row, result, provider=provider, by="worker", now=now)


async def expire_if_due(
    session: AsyncSession, request_id: str, now: datetime, *, lost_before: datetime
) -> bool:
    """Fail a request still waiting for Lilli after its deadline, or one still ``pending``
    or ``processing`` unchanged since ``lost_before`` (its job is gone: the periodic tick
    checked); False when neither."""
    requests = GenerationRepository(session)
    row = await requests.get_for_update(request_id)
    if row is None:
        return False
    if (
        row.status == "awaiting_callback"
        and row.callback_deadline_at is not None
        and row.callback_deadline_at <= now
    ):
        await fail(session, row, *DEADLINE_PASSED, now=now)
        return True
    if (
        row.status in ("pending", "processing")
        and row.updated_at <= lost_before
        and not await requests.job_will_run(row.id)
    ):
        await fail(session, row, *LOST, now=now)
        return True
    return False
