"""The rules of campaign generation: asking (the job deferred in the same transaction),
reading, cancelling, and Lilli's result delivered by callback. The runs themselves are the
worker's (``worker/``); every change of status takes the row's lock (``worker/runs.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.campaign_generation import repository
from bloomer_ai.campaign_generation.errors import (
    CallbackTooLate,
    GenerationFinished,
    GenerationNotFound,
    ResultForAnotherRequest,
    UnknownOccasion,
    UnusableResult,
)
from bloomer_ai.campaign_generation.providers import Variant, usable_variants
from bloomer_ai.campaign_generation.repository import GenerationRepository
from bloomer_ai.campaign_generation.schemas import CallbackResult, GenerateRequest
from bloomer_ai.campaign_generation.worker import runs
from bloomer_ai.campaign_generation.worker.tasks import generate
from bloomer_ai.campaigns.rules.occasions import OccasionDay, occasion_keys, occasions_in_year
from bloomer_ai.campaigns.service import default_language, shop_zone
from bloomer_ai.integrations import service as integrations
from bloomer_ai.kit.encryption import Keyring
from bloomer_ai.kit.ids import parse_id
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.models import CampaignGenerationRequest
from bloomer_ai.shops import service as shops
from bloomer_ai.shops.repository import ShopProfile

YEARS_AHEAD = 2
CALLBACK_PROVIDER = "lilli"


def _next_occasion(shop: ShopProfile, key: str | None, now: datetime) -> OccasionDay:
    today = now.astimezone(shop_zone(shop.timezone)).date()
    if key is not None and key not in occasion_keys(shop.country, today.year):
        raise UnknownOccasion(
            details=[
                {
                    "field": "body.input.occasion",
                    "message": f"not an occasion in {shop.country}; one of "
                    + ", ".join(occasion_keys(shop.country, today.year)),
                    "type": "unknown_occasion",
                }
            ]
        )
    for year in range(today.year, today.year + YEARS_AHEAD + 1):
        for day in occasions_in_year(shop.country, year):
            if day.date > today and (key is None or day.key == key):
                return day
    raise UnknownOccasion(
        details=[
            {
                "field": "body.input.occasion",
                "message": "this occasion has no date in the next two years",
                "type": "unknown_occasion",
            }
        ]
    )


async def request_generation(
    session: AsyncSession, body: GenerateRequest, *, now: datetime
) -> CampaignGenerationRequest:
    """Record the request, resolved (occasion, date, language), and defer its run in the
    same transaction: a committed request always has its job."""
    shop = await shops.shop_profile(session)
    asked = body.input
    language = asked.language or default_language(shop.country)
    day = _next_occasion(shop, asked.occasion, now)
    brief = {
        "occasion": {"key": day.key, "name": day.name(language), "date": day.date.isoformat()},
        "channel": asked.channel,
        "language": language,
        "segment": asked.segment,
        "tone": asked.tone,
        "variants": asked.variants,
    }
    row = await GenerationRepository(session).insert(
        campaign_id=body.campaign_id,
        input=asked.model_dump(mode="json", by_alias=True, exclude_none=True),
        brief=brief,
        status="pending",
    )
    await generate.defer(session, request_id=str(row.id))
    return row


async def get_generation(session: AsyncSession, request_id: str) -> CampaignGenerationRequest:
    row = await GenerationRepository(session).get(request_id)
    if row is None:
        raise GenerationNotFound()
    return row


async def list_generations(
    session: AsyncSession,
    page: PageParams,
    *,
    status: str | None = None,
    campaign_id: str | None = None,
    since: datetime | None = None,
) -> tuple[Sequence[CampaignGenerationRequest], str | None]:
    return await GenerationRepository(session).page(
        page, status=status, campaign_id=campaign_id, since=since
    )


async def cancel_generation(
    session: AsyncSession, request_id: str, *, now: datetime
) -> CampaignGenerationRequest:
    """Cancel a request that is not finished (a run still going drops its result); a
    cancelled one is answered as it is; a completed or failed one is 409."""
    row = await GenerationRepository(session).get_for_update(request_id)
    if row is None:
        raise GenerationNotFound()
    if row.status == "cancelled":
        return row
    if row.status in ("completed", "failed"):
        raise GenerationFinished(f"The campaign generation request is {row.status}.")
    row.status, row.cancelled_at = "cancelled", now
    return await GenerationRepository(session).save(row)


# --- Lilli's callback -----------------------------------------------------------------------


async def deliver_result(
    session: AsyncSession,
    request_id: str,
    result: CallbackResult,
    *,
    callback_id: str,
    signed: bool,
    now: datetime,
) -> CampaignGenerationRequest:
    """The first valid result wins; the same delivery again gets the request as it is; a
    result for a request that is finished otherwise is 409, and so is one after the
    deadline (the expiry job fails the request). A signed result names its request in the
    body: the signature does not cover the URL, so a captured delivery cannot be replayed
    against another request."""
    named = result.request_id
    if (named is None and signed) or (named is not None and named != parse_id(request_id)):
        raise ResultForAnotherRequest(
            details=[
                {
                    "field": "body.requestId",
                    "message": "must be the id of the request in the URL"
                    + (" (required when the result is signed)" if signed else ""),
                    "type": "request_mismatch",
                }
            ]
        )
    row = await GenerationRepository(session).get_for_update(request_id)
    if row is None:
        raise GenerationNotFound()
    if row.status in ("completed", "failed", "cancelled"):
        if row.callback_id == callback_id:
            return row
        raise GenerationFinished(f"The campaign generation request is {row.status}.")
    if (
        row.status == "awaiting_callback"
        and row.callback_deadline_at is not None
        and row.callback_deadline_at <= now
    ):
        raise CallbackTooLate()
    if result.status == "failed":
        assert result.error is not None  # the schema's rule
        return await runs.fail(
            session,
            row,
            result.error.code,
            result.error.message,
            now=now,
            callback_id=callback_id,
        )
    assert result.variants is not None  # the schema's rule
    variants = [Variant(v.subject, v.preview, v.body, v.sms_text) for v in result.variants]
    shop = await shops.shop_profile(session)
    asked = int(row.brief.get("variants", len(variants)))
    kept, problems = usable_variants(variants, asked, shop.name)
    if problems:
        raise UnusableResult(
            details=[
                {"field": f"body.variants[{i}].{field}", "message": reason, "type": "unusable_copy"}
                for i, field, reason in problems
            ]
        )
    return await runs.complete(
        session,
        row,
        kept,
        provider=CALLBACK_PROVIDER,
        by="callback",
        now=now,
        callback_id=callback_id,
    )


async def lookup_request_shop(session: AsyncSession, request_id: uuid.UUID) -> uuid.UUID | None:
    """The shop of the request a signed callback names (before the shop is known)."""
    return await repository.lookup_request_shop(session, request_id)


async def callback_secrets(session: AsyncSession, keyring: Keyring) -> list[str]:
    """The session's shop's Lilli integration secrets (a callback may be signed with them)."""
    return await integrations.shop_signing_secrets(session, CALLBACK_PROVIDER, keyring)
