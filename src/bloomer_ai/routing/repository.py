"""All SQL of routing: rules, and the shop's rule-set version."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from bloomer_ai.db.pagination import fetch_page_in_order
from bloomer_ai.db.repository import ShopScopedRepository
from bloomer_ai.kit.pagination import PageParams
from bloomer_ai.models import OrderRoutingRule, RoutingRuleSetVersion


class RuleRepository(ShopScopedRepository):
    async def get(self, rule_id: str | uuid.UUID) -> OrderRoutingRule | None:
        return await self._get(OrderRoutingRule, rule_id)

    async def page(self, params: PageParams) -> tuple[Sequence[OrderRoutingRule], str | None]:
        """The rules in the order they run: priority (lower first), then creation."""
        order = (OrderRoutingRule.priority, OrderRoutingRule.created_at, OrderRoutingRule.id)
        return await fetch_page_in_order(self.session, select(OrderRoutingRule), order, params)

    async def all(self) -> Sequence[OrderRoutingRule]:
        return (await self.session.scalars(select(OrderRoutingRule))).all()

    async def insert(self, **values: Any) -> OrderRoutingRule:
        rule = OrderRoutingRule(shop_id=self.shop_id, **values)
        self.session.add(rule)
        await self.session.flush()
        await self.session.refresh(rule)
        return rule

    async def save(self, rule: OrderRoutingRule) -> OrderRoutingRule:
        await self.session.flush()  # updated_at: TimestampMixin's onupdate
        await self.session.refresh(rule)
        return rule

    async def delete(self, rule: OrderRoutingRule) -> None:
        await self.session.delete(rule)
        await self.session.flush()

    async def bump_version(self) -> int:
        """One more version of the shop's rule set (announced to every process at commit)."""
        statement = (
            insert(RoutingRuleSetVersion)
            .values(shop_id=self.shop_id, version=1)
            .on_conflict_do_update(
                index_elements=[RoutingRuleSetVersion.shop_id],
                set_={"version": RoutingRuleSetVersion.version + 1},
            )
            .returning(RoutingRuleSetVersion.version)
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def version(self) -> int:
        """The shop's rule-set version (0 before its first rule)."""
        found = await self.session.scalar(
            select(RoutingRuleSetVersion.version).where(
                RoutingRuleSetVersion.shop_id == self.shop_id
            )
        )
        return int(found or 0)
