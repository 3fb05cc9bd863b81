"""Shared by the generation tests: settings with a callback secret, a worker run in the
test's own transaction, and the campaign events of a shop."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bloomer_ai.campaign_generation.worker.tasks import run_expiry, run_generation
from bloomer_ai.config import Settings
from bloomer_ai.jobs.queue import JobResources
from bloomer_ai.jobs.tasks import ShopJob
from bloomer_ai.models import CampaignGenerationRequest, WebhookEvent

CALLBACK_SECRET = "whsec_Y2FtcGFpZ24tY2FsbGJhY2stc2VjcmV0LWZvci10ZXN0cyEh"
ROUTE = "/api/ai/campaigns/generate"


async def run_in_transaction(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    shop_id: uuid.UUID,
    request_id: str,
    *,
    expiry: bool = False,
) -> None:
    """What a worker's job runs, on the test's sessions (its rows stay visible to the test
    and roll back with it)."""
    resources = JobResources(settings, sessions)
    job = ShopJob(shop_id=shop_id, resources=resources, job_id=0, attempts=0)
    try:
        if expiry:
            await run_expiry(job, request_id=request_id)
        else:
            await run_generation(job, request_id=request_id)
    finally:
        await resources.aclose()


async def campaign_events(db: AsyncSession, shop_id: uuid.UUID) -> list[WebhookEvent]:
    statement = (
        select(WebhookEvent)
        .where(WebhookEvent.shop_id == shop_id, WebhookEvent.type.startswith("campaign."))
        .order_by(WebhookEvent.created_at, WebhookEvent.id)
    )
    return list((await db.scalars(statement)).all())


async def generation_row(db: AsyncSession, request_id: str) -> CampaignGenerationRequest:
    statement = (
        select(CampaignGenerationRequest)
        .where(CampaignGenerationRequest.id == uuid.UUID(request_id))
        .execution_options(populate_existing=True)
    )
    row = await db.scalar(statement)
    assert row is not None
    return row


def email_input(**overrides: Any) -> dict[str, Any]:
    return {"input": {"channel": "email", "occasion": "christmas", **overrides}}
