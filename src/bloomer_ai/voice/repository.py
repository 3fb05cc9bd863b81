"""All SQL of the voice agent: calls and their events, and the transcript purge."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.db.pagination import fetch_page
from bloomer_ai.db.repository import ShopScopedRepository
from bloomer_ai.kit.ids import new_id
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.models import VoiceCall, VoiceCallEvent

_PURGE_TRANSCRIPTS = text("SELECT purge_voice_transcripts(:before)")


class VoiceCallRepository(ShopScopedRepository):
    async def get(self, call_id: str | uuid.UUID) -> VoiceCall | None:
        return await self._get(VoiceCall, call_id)

    async def claim(self, provider: str, provider_call_id: str, **values: Any) -> VoiceCall:
        """The shop's call with this provider id, created with ``values`` when there is
        none, locked for this transaction: one statement, and a delivery of the same call
        at the same moment waits for this one (the unique constraint decides)."""
        statement = (
            insert(VoiceCall)
            .values(
                id=new_id(),
                shop_id=self.shop_id,
                provider=provider,
                provider_call_id=provider_call_id,
                **values,
            )
            .on_conflict_do_update(
                constraint="uq_voice_calls_shop_provider_call",
                set_={"updated_at": func.now()},
            )
            .returning(VoiceCall)
        )
        found = await self.session.scalar(statement, execution_options={"populate_existing": True})
        assert found is not None
        return found

    async def save(self, call: VoiceCall) -> VoiceCall:
        await self.session.flush()
        return call

    async def delete(self, call: VoiceCall) -> None:
        await self.session.delete(call)
        await self.session.flush()

    async def page(
        self,
        params: PageParams,
        *,
        status: str | None = None,
        direction: str | None = None,
        since: datetime | None = None,
        customer_id: uuid.UUID | None = None,
    ) -> tuple[Sequence[VoiceCall], str | None]:
        statement: Select[tuple[VoiceCall]] = select(VoiceCall)
        if status is not None:
            statement = statement.where(VoiceCall.status == status)
        if direction is not None:
            statement = statement.where(VoiceCall.direction == direction)
        if customer_id is not None:
            statement = statement.where(VoiceCall.customer_id == customer_id)
        if since is not None:
            statement = statement.where(VoiceCall.created_at >= since)
        return await fetch_page(self.session, statement, VoiceCall.id, params)


class VoiceCallEventRepository(ShopScopedRepository):
    async def insert(self, **values: Any) -> VoiceCallEvent:
        event = VoiceCallEvent(shop_id=self.shop_id, **values)
        self.session.add(event)
        await self.session.flush()
        return event

    async def of_call(self, call_id: uuid.UUID, limit: int = 500) -> Sequence[VoiceCallEvent]:
        statement = (
            select(VoiceCallEvent)
            .where(VoiceCallEvent.call_id == call_id)
            .order_by(VoiceCallEvent.id)
            .limit(limit)
        )
        return (await self.session.scalars(statement)).all()

    async def page(
        self,
        params: PageParams,
        *,
        call_id: uuid.UUID | None = None,
        type: str | None = None,
        since: datetime | None = None,
    ) -> tuple[Sequence[VoiceCallEvent], str | None]:
        statement: Select[tuple[VoiceCallEvent]] = select(VoiceCallEvent)
        if call_id is not None:
            statement = statement.where(VoiceCallEvent.call_id == call_id)
        if type is not None:
            statement = statement.where(VoiceCallEvent.type == type)
        if since is not None:
            statement = statement.where(VoiceCallEvent.created_at >= since)
        return await fetch_page(self.session, statement, VoiceCallEvent.id, params)

    async def calls_of(self, call_ids: set[uuid.UUID]) -> dict[uuid.UUID, VoiceCall]:
        """The calls of a page of events, in one statement."""
        if not call_ids:
            return {}
        rows = await self.session.scalars(select(VoiceCall).where(VoiceCall.id.in_(call_ids)))
        return {row.id: row for row in rows}


async def purge_transcripts(session: AsyncSession, *, before: datetime) -> int:
    """Every shop's transcripts of calls older than ``before`` (the documented cross-shop
    path: a SECURITY DEFINER function; the service's role cannot do it by hand)."""
    return int((await session.execute(_PURGE_TRANSCRIPTS, {"before": before})).scalar_one())
