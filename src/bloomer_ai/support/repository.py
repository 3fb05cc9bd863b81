"""All SQL of support automation: events, rules, tasks and context reads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from bloomer_ai.db.pagination import fetch_page, fetch_page_in_order
from bloomer_ai.db.repository import ShopScopedRepository
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.models import SupportContextRead, SupportEvent, SupportRule, SupportTask


class SupportEventRepository(ShopScopedRepository):
    async def get(self, event_id: str | uuid.UUID) -> SupportEvent | None:
        return await self._get(SupportEvent, event_id)

    async def insert(self, **values: Any) -> SupportEvent:
        event = SupportEvent(shop_id=self.shop_id, **values)
        self.session.add(event)
        await self.session.flush()
        return event

    async def page(
        self,
        params: PageParams,
        *,
        type: str | None = None,
        channel: str | None = None,
        customer_id: uuid.UUID | None = None,
        conversation_id: str | None = None,
        since: datetime | None = None,
    ) -> tuple[Sequence[SupportEvent], str | None]:
        statement: Select[tuple[SupportEvent]] = select(SupportEvent)
        if type is not None:
            statement = statement.where(SupportEvent.type == type)
        if channel is not None:
            statement = statement.where(SupportEvent.channel == channel)
        if customer_id is not None:
            statement = statement.where(SupportEvent.customer_id == customer_id)
        if conversation_id is not None:
            statement = statement.where(SupportEvent.external_conversation_id == conversation_id)
        if since is not None:
            statement = statement.where(SupportEvent.created_at >= since)
        return await fetch_page(self.session, statement, SupportEvent.id, params)


class SupportRuleRepository(ShopScopedRepository):
    async def get(self, rule_id: str | uuid.UUID) -> SupportRule | None:
        return await self._get(SupportRule, rule_id)

    async def page(self, params: PageParams) -> tuple[Sequence[SupportRule], str | None]:
        """The rules in the order they run: priority (lower first), then creation."""
        order = (SupportRule.priority, SupportRule.created_at, SupportRule.id)
        return await fetch_page_in_order(self.session, select(SupportRule), order, params)

    async def in_order(self) -> Sequence[SupportRule]:
        """Every rule of the shop (enabled or not), in the order they run."""
        statement = select(SupportRule).order_by(
            SupportRule.priority, SupportRule.created_at, SupportRule.id
        )
        return (await self.session.scalars(statement)).all()

    async def insert(self, **values: Any) -> SupportRule:
        rule = SupportRule(shop_id=self.shop_id, **values)
        self.session.add(rule)
        await self.session.flush()
        await self.session.refresh(rule)
        return rule

    async def save(self, rule: SupportRule) -> SupportRule:
        await self.session.flush()
        await self.session.refresh(rule)
        return rule

    async def delete(self, rule: SupportRule) -> None:
        await self.session.delete(rule)
        await self.session.flush()


class SupportTaskRepository(ShopScopedRepository):
    async def get(self, task_id: str | uuid.UUID) -> SupportTask | None:
        return await self._get(SupportTask, task_id)

    async def insert(self, **values: Any) -> SupportTask:
        task = SupportTask(shop_id=self.shop_id, **values)
        self.session.add(task)
        await self.session.flush()
        await self.session.refresh(task)
        return task

    async def save(self, task: SupportTask) -> SupportTask:
        await self.session.flush()
        await self.session.refresh(task)
        return task

    async def page(
        self,
        params: PageParams,
        *,
        status: str | None = None,
        assignee_user_id: uuid.UUID | None = None,
        event_id: uuid.UUID | None = None,
    ) -> tuple[Sequence[SupportTask], str | None]:
        statement: Select[tuple[SupportTask]] = select(SupportTask)
        if status is not None:
            statement = statement.where(SupportTask.status == status)
        if assignee_user_id is not None:
            statement = statement.where(SupportTask.assignee_user_id == assignee_user_id)
        if event_id is not None:
            statement = statement.where(SupportTask.event_id == event_id)
        return await fetch_page(self.session, statement, SupportTask.id, params)


class ContextReadRepository(ShopScopedRepository):
    async def insert(self, **values: Any) -> SupportContextRead:
        read = SupportContextRead(shop_id=self.shop_id, **values)
        self.session.add(read)
        await self.session.flush()
        return read

    async def page(self, params: PageParams) -> tuple[Sequence[SupportContextRead], str | None]:
        return await fetch_page(
            self.session, select(SupportContextRead), SupportContextRead.id, params
        )
