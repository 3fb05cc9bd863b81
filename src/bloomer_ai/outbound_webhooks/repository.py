"""All SQL of outbound webhooks: endpoints, events, attempts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import any_, exists, func, literal, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.db.pagination import fetch_page
from bloomer_ai.db.repository import ShopScopedRepository
from bloomer_ai.kit.ids import new_id
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.models import WebhookAttempt, WebhookEndpoint, WebhookEvent


class EndpointRepository(ShopScopedRepository):
    async def get(self, endpoint_id: str | uuid.UUID) -> WebhookEndpoint | None:
        return await self._get(WebhookEndpoint, endpoint_id)

    async def page(self, params: PageParams) -> tuple[Sequence[WebhookEndpoint], str | None]:
        return await fetch_page(self.session, select(WebhookEndpoint), WebhookEndpoint.id, params)

    async def insert(self, **values: Any) -> WebhookEndpoint:
        endpoint = WebhookEndpoint(shop_id=self.shop_id, **values)
        self.session.add(endpoint)
        await self.session.flush()
        await self.session.refresh(endpoint)
        return endpoint

    async def save(self, endpoint: WebhookEndpoint) -> WebhookEndpoint:
        await self.session.flush()  # updated_at: TimestampMixin's onupdate
        await self.session.refresh(endpoint)
        return endpoint

    async def delete(self, endpoint: WebhookEndpoint) -> None:
        await self.session.delete(endpoint)
        await self.session.flush()

    async def subscribed(self, event_type: str) -> Sequence[uuid.UUID]:
        """Enabled endpoints that take ``event_type`` (an empty list takes every type)."""
        statement = select(WebhookEndpoint.id).where(
            WebhookEndpoint.enabled.is_(True),
            or_(
                func.cardinality(WebhookEndpoint.event_types) == 0,
                literal(event_type) == any_(WebhookEndpoint.event_types),
            ),
        )
        return (await self.session.scalars(statement)).all()

    async def disable_gone(self, endpoint_id: uuid.UUID) -> None:
        await self.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id)
            .values(enabled=False, disabled_reason="gone", updated_at=func.now())
        )


class EventRepository(ShopScopedRepository):
    async def get(self, event_id: str | uuid.UUID) -> WebhookEvent | None:
        return await self._get(WebhookEvent, event_id)

    async def insert(self, event_type: str, payload: dict[str, Any]) -> WebhookEvent:
        event = WebhookEvent(id=new_id(), shop_id=self.shop_id, type=event_type, payload=payload)
        self.session.add(event)
        await self.session.flush()  # created_at comes back with the insert (RETURNING)
        return event


class AttemptRepository(ShopScopedRepository):
    async def page(
        self,
        params: PageParams,
        *,
        endpoint_id: uuid.UUID | None = None,
        event_id: uuid.UUID | None = None,
    ) -> tuple[Sequence[WebhookAttempt], str | None]:
        """The shop's own endpoints' attempts (the web app's platform deliveries are not
        the shop's), newest first."""
        statement = select(WebhookAttempt).where(WebhookAttempt.endpoint_id.is_not(None))
        if endpoint_id is not None:
            statement = statement.where(WebhookAttempt.endpoint_id == endpoint_id)
        if event_id is not None:
            statement = statement.where(WebhookAttempt.event_id == event_id)
        return await fetch_page(self.session, statement, WebhookAttempt.id, params)

    async def delivered(self, event_id: uuid.UUID, endpoint_id: uuid.UUID | None) -> bool:
        """Whether an attempt of this event to this endpoint (None: the platform's)
        succeeded."""
        target = (
            WebhookAttempt.endpoint_id.is_(None)
            if endpoint_id is None
            else WebhookAttempt.endpoint_id == endpoint_id
        )
        statement = select(
            exists().where(
                WebhookAttempt.event_id == event_id,
                target,
                WebhookAttempt.outcome == "succeeded",
            )
        )
        return bool(await self.session.scalar(statement))

    async def insert(self, **values: Any) -> None:
        self.session.add(WebhookAttempt(id=new_id(), shop_id=self.shop_id, **values))
        await self.session.flush()


async def unscoped_purge_events(session: AsyncSession, older_than_days: int) -> int:
    # Across shops on purpose (retention): through the SECURITY DEFINER function made for
    # it (migration 0008); the session has no shop bound, so no row is visible otherwise.
    deleted = await session.scalar(
        text("SELECT purge_webhook_events(make_interval(days => :days))"),
        {"days": older_than_days},
    )
    return int(deleted or 0)


async def operator_sealed_under_other_keys(
    session: AsyncSession, current_key_id: str, limit: int
) -> Sequence[WebhookEndpoint]:
    """Endpoints (any shop) whose secrets are sealed under a key other than the current."""
    statement = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.secrets_key_id != current_key_id)
        .order_by(WebhookEndpoint.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(statement)).all()
