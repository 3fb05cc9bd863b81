"""All SQL of campaign generation."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.db.pagination import fetch_page
from bloomer_ai.db.repository import ShopScopedRepository
from bloomer_ai.kit.ids import parse_id
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.models import CampaignGenerationRequest


class GenerationRepository(ShopScopedRepository):
    async def get(self, request_id: str | uuid.UUID) -> CampaignGenerationRequest | None:
        return await self._get(CampaignGenerationRequest, request_id)

    async def job_will_run(self, request_id: uuid.UUID) -> bool:
        """Whether a ``campaigns.generate`` job of the request waits or runs (the queue's
        table is not a shop's: the request id, this shop's, is the key)."""
        found = await self.session.scalar(
            text(
                "SELECT 1 FROM procrastinate_jobs WHERE task_name = 'campaigns.generate' "
                "AND status IN ('todo', 'doing') AND args ->> 'request_id' = :request_id "
                "LIMIT 1"
            ),
            {"request_id": str(request_id)},
        )
        return found is not None

    async def get_for_update(self, request_id: str | uuid.UUID) -> CampaignGenerationRequest | None:
        """The row, locked until the transaction ends: every change of status goes through
        here, so two writers (a run and a callback, two runs) take turns."""
        row_id = request_id if isinstance(request_id, uuid.UUID) else parse_id(request_id)
        if row_id is None:
            return None
        statement = (
            select(CampaignGenerationRequest)
            .where(CampaignGenerationRequest.id == row_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        row: CampaignGenerationRequest | None = await self.session.scalar(statement)
        return row

    async def insert(self, **values: Any) -> CampaignGenerationRequest:
        row = CampaignGenerationRequest(shop_id=self.shop_id, **values)
        self.session.add(row)
        await self.session.flush()
        await self.session.refresh(row)
        return row

    async def save(self, row: CampaignGenerationRequest) -> CampaignGenerationRequest:
        await self.session.flush()
        await self.session.refresh(row)
        return row

    async def page(
        self,
        params: PageParams,
        *,
        status: str | None = None,
        campaign_id: str | None = None,
        since: datetime | None = None,
    ) -> tuple[Sequence[CampaignGenerationRequest], str | None]:
        statement: Select[tuple[CampaignGenerationRequest]] = select(CampaignGenerationRequest)
        if status is not None:
            statement = statement.where(CampaignGenerationRequest.status == status)
        if campaign_id is not None:
            statement = statement.where(CampaignGenerationRequest.campaign_id == campaign_id)
        if since is not None:
            statement = statement.where(CampaignGenerationRequest.created_at >= since)
        return await fetch_page(self.session, statement, CampaignGenerationRequest.id, params)


# --- look-ups across shops (SECURITY DEFINER functions, migrations 0014 and 0016) --------


async def lookup_request_shop(session: AsyncSession, request_id: uuid.UUID) -> uuid.UUID | None:
    """The shop of a request a signed callback names, before any shop is known."""
    shop_id = await session.scalar(text("SELECT campaign_generation_shop(:id)"), {"id": request_id})
    return shop_id if isinstance(shop_id, uuid.UUID) else None


async def unscoped_lost_requests(
    session: AsyncSession, before: datetime, limit: int
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(shop, request) of requests unchanged since ``before`` that no job will run any
    more, every shop (the ``lost_campaign_generations`` SECURITY DEFINER function)."""
    rows = await session.execute(
        text("SELECT shop_id, id FROM lost_campaign_generations(:before, :limit)"),
        {"before": before, "limit": limit},
    )
    return [(row.shop_id, row.id) for row in rows]


async def unscoped_expired_requests(
    session: AsyncSession, now: datetime, limit: int
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(shop, request) of requests still waiting for Lilli past their deadline, every shop:
    the periodic expiry job's one cross-shop read."""
    rows = await session.execute(
        text("SELECT shop_id, id FROM expired_campaign_generations(:now, :limit)"),
        {"now": now, "limit": limit},
    )
    return [(row.shop_id, row.id) for row in rows]
